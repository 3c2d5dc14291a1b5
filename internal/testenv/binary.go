package testenv

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The one harness for tests that run the real crowdrisk binary (the
// command's own tests in cmd/crowdrisk, the browser tests in e2e): build it
// once, start it on a free loopback port with its own data directory, wait
// until it answers, and stop, kill or restart it as an operator would.

// BuildBinary builds ./cmd/crowdrisk into dir (with the race detector when
// race is set) and returns its path. Call it from TestMain: the build cache
// makes every build after the first a link step.
func BuildBinary(dir string, race bool) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "crowdrisk")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/crowdrisk")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/crowdrisk: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the directory holding go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the crowdrisk module")
	}
	return filepath.Dir(mod), nil
}

// FreeAddr is a loopback address nobody listens on now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// SyncBuffer collects a process's output for the test to read while it runs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ProcessOptions say how to run the binary.
type ProcessOptions struct {
	Addr    string   // default: a free loopback port
	DataDir string   // default: a fresh temporary directory
	Args    []string // after --addr, --data-dir and --heartbeat 1s
	// Env ("KEY=value") is added to the test's environment cleared of every
	// CROWDRISK_* variable, so that a secret exported in the shell running
	// the tests cannot change what a test means.
	Env []string
	// InheritEnv passes the test's environment as it is, CROWDRISK_*
	// included (for tests that t.Setenv a setting).
	InheritEnv bool
	// ReadyPath is polled until it answers 200; default /healthz.
	ReadyPath string
}

// Process is one running crowdrisk. Restart keeps its port and data
// directory, as a redeploy would.
type Process struct {
	Addr, Base, DataDir string
	Out                 *SyncBuffer // stdout and stderr, every start
	Cmd                 *exec.Cmd   // the current run

	tb   testing.TB
	bin  string
	opts ProcessOptions
	done chan struct{}
}

// StartProcess runs bin and waits until it answers; the test's cleanup
// kills it, and prints its output if the test failed.
func StartProcess(tb testing.TB, bin string, opts ProcessOptions) *Process {
	tb.Helper()
	if opts.Addr == "" {
		opts.Addr = FreeAddr(tb)
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(tb.TempDir(), "data")
	}
	if opts.ReadyPath == "" {
		opts.ReadyPath = "/healthz"
	}
	p := &Process{Addr: opts.Addr, Base: "http://" + opts.Addr, DataDir: opts.DataDir, Out: &SyncBuffer{},
		tb: tb, bin: bin, opts: opts}
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("crowdrisk at %s:\n%s", p.Addr, tail(p.Out.String(), 4000))
		}
	})
	p.Start()
	return p
}

// Start (re)starts the process and waits until it answers at ReadyPath.
func (p *Process) Start() {
	p.tb.Helper()
	args := append([]string{"--addr", p.Addr, "--data-dir", p.DataDir, "--heartbeat", "1s"}, p.opts.Args...)
	p.Cmd = exec.Command(p.bin, args...)
	if !p.opts.InheritEnv {
		p.Cmd.Env = ProcessEnv(p.opts.Env)
	} else if len(p.opts.Env) > 0 {
		p.Cmd.Env = append(os.Environ(), p.opts.Env...)
	}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := p.Cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	done := make(chan struct{})
	p.done = done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(p.Cmd)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.Base + p.opts.ReadyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			p.tb.Fatalf("crowdrisk exited at start (%v):\n%s", p.Cmd.ProcessState, p.Out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.tb.Fatalf("crowdrisk did not answer %s within 20 s:\n%s", p.opts.ReadyPath, p.Out.String())
}

// Done is closed when the current run has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Kill ends the process the hard way (SIGKILL), like a crash or a power
// cut, and waits for it.
func (p *Process) Kill() {
	if p.Cmd == nil || p.Cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Stop ends the process with SIGTERM, as an orderly redeploy does, and
// fails the test if it does not exit within 20 s.
func (p *Process) Stop(tb testing.TB) {
	tb.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		tb.Fatalf("crowdrisk did not stop on SIGTERM:\n%s", p.Out.String())
	}
}

// ProcessEnv is the test's environment without CROWDRISK_* variables, plus env.
func ProcessEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CROWDRISK_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
