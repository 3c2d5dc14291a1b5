package testenv

import (
	"cmp"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a server a test started and may stop, kill and start again
// on the same port: the part the Redis and Mosquitto harnesses share.
type process struct {
	grace time.Duration // how long stop waits for sig before SIGKILL; 0: 5 s

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs the command cmd builds unless one runs already, then waits
// (ready is given the channel closed when the process exits) until it
// serves. When it does not, the process is killed and the error carries
// diag's account (the server's log).
func (p *process) start(cmd func() *exec.Cmd, ready func(exited <-chan struct{}) error, diag func() string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	c := cmd()
	if err := c.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { c.Wait(); close(exited) }()
	if err := ready(exited); err != nil {
		c.Process.Kill()
		<-exited
		return fmt.Errorf("%w\n%s", err, diag())
	}
	p.cmd, p.exited = c, exited
	return nil
}

// killed is a command that SIGKILL ends with the test binary.
func killed(name string, args ...string) func() *exec.Cmd {
	return func() *exec.Cmd {
		c := exec.Command(name, args...)
		dieWithParent(c, syscall.SIGKILL)
		return c
	}
}

// stop sends sig (SIGKILL after the grace) and waits until the process
// has exited. Stopping a stopped process does nothing.
func (p *process) stop(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(cmp.Or(p.grace, 5*time.Second)):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd, p.exited = nil, nil
}
