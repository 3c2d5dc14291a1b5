package testenv

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a server a test started and may stop, kill and start again
// on the same port: the part the Redis and Mosquitto harnesses share.
type process struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs argv unless it runs already, then waits (ready is given the
// channel closed when the process exits) until it serves. When it does
// not, the process is killed and the error carries diag's account (the
// server's log).
func (p *process) start(argv []string, ready func(exited <-chan struct{}) error, diag func() string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	dieWithParent(cmd, syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	if err := ready(exited); err != nil {
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w\n%s", err, diag())
	}
	p.cmd, p.exited = cmd, exited
	return nil
}

// stop sends sig (SIGKILL after 5 s) and waits until the process has
// exited. Stopping a stopped process does nothing.
func (p *process) stop(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd, p.exited = nil, nil
}
