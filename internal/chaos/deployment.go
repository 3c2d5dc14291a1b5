package chaos

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// deployment is what one mode of the campaign runs and breaks: instances
// of the real binary and, in cluster mode, the Redis and PostgreSQL they
// share; in single mode the data directory on its own tmpfs.
type deployment struct {
	mode  string
	dir   string // logs and data of this mode
	lease time.Duration
	insts []*instance
	redis *server
	pg    *pgServer
	disk  *disk
	log   io.Writer

	mu       sync.Mutex
	problems []problem
}

func (e *deployment) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "%s [%s] %s\n", time.Now().UTC().Format("15:04:05.000"), e.mode, fmt.Sprintf(format, args...))
}

func (e *deployment) problem(kind, format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.problems = append(e.problems, problem{kind, fmt.Sprintf(format, args...)})
}

func (e *deployment) bases() []string {
	var b []string
	for _, in := range e.insts {
		b = append(b, in.base())
	}
	return b
}

// restart starts an instance again; one that will not start is a finding.
func (e *deployment) restart(in *instance) {
	for attempt := 0; attempt < 3; attempt++ {
		err := in.start()
		if err == nil {
			return
		}
		if attempt == 2 {
			e.problem(vProcess, "%s would not start again: %s", in.name, lastLine(err.Error()))
		}
		time.Sleep(time.Second)
	}
}

// up starts the deployment. Whatever it started is stopped by down, even
// when up fails half-way.
func (e *deployment) up(bin string, n int) error {
	var common []string
	if e.mode == "cluster" {
		rdir := filepath.Join(e.dir, "redis")
		os.MkdirAll(rdir, 0o755)
		var err error
		if e.redis, err = startRedis(rdir); err != nil {
			return err
		}
		if e.pg, err = startPostgres(); err != nil {
			return err
		}
		common = []string{"--simulate=false", "--redis", "redis://" + e.redis.addr() + "/0",
			"--postgres", e.pg.url("crowdrisk"), "--lease-ttl", e.lease.String()}
	} else {
		n = 1
		common = []string{"--simulate=false"}
	}
	for i := 0; i < n; i++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%d", e.mode, i+1)
		data := filepath.Join(e.dir, name, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			return err
		}
		if e.mode == "single" {
			d, err := mountDisk(data, "24m")
			e.disk = d
			if err != nil {
				e.logf("disk faults unavailable: %v", err)
			}
		}
		in := &instance{name: name, bin: bin, addr: fmt.Sprintf("127.0.0.1:%d", port), dataDir: data,
			args: common, logPath: filepath.Join(e.dir, name+".log")}
		e.insts = append(e.insts, in)
		if err := in.start(); err != nil {
			return err
		}
	}
	return nil
}

// down stops everything this deployment started: paused instances are
// continued and stopped, servers stopped, the tmpfs unmounted.
func (e *deployment) down() {
	for _, in := range e.insts {
		in.signal(syscall.SIGTERM)
	}
	if e.disk != nil {
		e.disk.unmount()
	}
	if e.redis != nil {
		e.redis.stop()
	}
	if e.pg != nil {
		e.pg.stop()
		if b, err := os.ReadFile(filepath.Join(e.pg.dir, "postgres.log")); err == nil {
			os.WriteFile(filepath.Join(e.dir, "postgres.log"), b, 0o644)
		}
		os.RemoveAll(e.pg.dir)
	}
}

// heal undoes whatever a fault may have left (it runs after the injector
// stopped, whose faults heal themselves; this is the safety net).
func (e *deployment) heal() {
	for _, in := range e.insts {
		in.signal(syscall.SIGCONT)
	}
	if e.disk != nil && e.disk.mounted {
		e.disk.free()
		e.disk.remount(false)
	}
	if e.redis != nil {
		if err := e.redis.start(); err != nil {
			e.problem(vProcess, "redis: %v", err)
		}
	}
	if e.pg != nil {
		if err := e.pg.start(); err != nil {
			e.problem(vProcess, "postgres: %v", err)
		}
	}
	for _, in := range e.insts {
		if !in.running() {
			e.restart(in)
		}
	}
}

// scanLogs reports panics and fatal errors of any instance.
func (e *deployment) scanLogs() {
	for _, in := range e.insts {
		b, _ := os.ReadFile(in.logPath)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
				e.problem(vProcess, "%s: %s (see %s)", in.name, trim(line), in.logPath)
				break
			}
		}
	}
}
