package chaos

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// instance is one crowdrisk process the campaign owns: the real binary,
// restarted on the same address and data directory after a kill.
type instance struct {
	name    string
	bin     string
	addr    string
	dataDir string
	args    []string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	paused bool
	starts int
}

func (in *instance) base() string { return "http://" + in.addr }

// start runs the binary and waits until /healthz answers. A process that
// exits during start-up is an error carrying the tail of its log.
func (in *instance) start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd != nil {
		return nil
	}
	log, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	in.starts++
	fmt.Fprintf(log, "=== chaos: start #%d at %s\n", in.starts, time.Now().Format(time.RFC3339Nano))
	all := append([]string{"--addr", in.addr, "--data-dir", in.dataDir, "--heartbeat", "1s",
		"--rate-limit", "-1", "--log-level", "info"}, in.args...)
	cmd := exec.Command(in.bin, all...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(done) }()
	c := &http.Client{Timeout: time.Second}
	healthy := func() bool {
		resp, err := c.Get(in.base() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	if err := waitUntil(done, 30*time.Second, healthy); err != nil {
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s: %w (exit %v); log tail:\n%s", in.name, err, cmd.ProcessState, tail(in.logPath, 600))
	}
	in.cmd, in.done, in.paused = cmd, done, false
	return nil
}

// running reports whether the process is alive (paused counts).
func (in *instance) running() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return false
	}
	select {
	case <-in.done:
		in.cmd = nil
		return false
	default:
		return true
	}
}

// signal sends sig; SIGKILL and SIGTERM also wait for the exit.
func (in *instance) signal(sig syscall.Signal) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		if in.paused {
			in.cmd.Process.Signal(syscall.SIGCONT)
		}
		in.cmd.Process.Signal(sig)
		select {
		case <-in.done:
		case <-time.After(15 * time.Second):
			in.cmd.Process.Kill()
			<-in.done
		}
		in.cmd, in.paused = nil, false
		return
	}
	in.cmd.Process.Signal(sig)
	in.paused = sig == syscall.SIGSTOP
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
