package chaos

import (
	"context"
	"math/rand"
	"strings"
	"syscall"
	"time"
)

// fault is one injected failure, from its start to its healing.
type fault struct {
	Kind     string
	Target   string
	Start    time.Time
	End      time.Time
	Injected bool // false: the environment did not allow it (Note says why)
	Note     string
}

// injector breaks and heals the deployment at random, from the seed.
type injector struct {
	e      *deployment
	w      *workload
	only   []string // fault kinds to inject; all when empty
	rng    *rand.Rand
	faults []fault
}

func (j *injector) jitter(min, spread time.Duration) time.Duration {
	return min + time.Duration(j.rng.Int63n(int64(spread)))
}

// FaultKinds lists the faults of each mode.
var FaultKinds = map[string][]string{
	"cluster": {"kill-restart", "pause-leader", "redis-restart", "postgres-restart"},
	"single":  {"kill-restart", "disk-full", "read-only"},
}

func faultKinds(mode string, only []string) []string {
	if len(only) == 0 {
		return FaultKinds[mode]
	}
	var out []string
	for _, k := range FaultKinds[mode] {
		if contains(only, k) {
			out = append(out, k)
		}
	}
	return out
}

// run injects faults one after another until ctx ends or until passes;
// each fault heals itself before the next starts.
func (j *injector) run(ctx context.Context, until time.Time) {
	kinds := faultKinds(j.e.mode, j.only)
	if len(kinds) == 0 {
		sleep(ctx, time.Until(until))
		return
	}
	var bag []string
	for {
		sleep(ctx, j.jitter(time.Second, 2*time.Second))
		if ctx.Err() != nil || time.Now().After(until) {
			return
		}
		// Every kind once, in a random order, then again: a short run
		// still meets each fault, and the seed still decides.
		if len(bag) == 0 {
			bag = append(bag, kinds...)
			j.rng.Shuffle(len(bag), func(a, b int) { bag[a], bag[b] = bag[b], bag[a] })
		}
		f := fault{Kind: bag[0], Start: time.Now(), Injected: true}
		bag = bag[1:]
		j.inject(ctx, &f)
		f.End = time.Now()
		j.faults = append(j.faults, f)
		j.e.logf("fault %-16s %-10s %5s %s", f.Kind, f.Target, f.End.Sub(f.Start).Round(100*time.Millisecond), f.Note)
	}
}

func (j *injector) inject(ctx context.Context, f *fault) {
	e := j.e
	switch f.Kind {
	case "kill-restart":
		in := e.insts[j.rng.Intn(len(e.insts))]
		// Half the time the leader, with commands forwarded to it by the
		// others in flight: a command executed and not yet recorded runs
		// again under the next leader.
		if i := leader(e.bases()); i >= 0 && j.rng.Intn(2) == 0 {
			in = e.insts[i]
		}
		f.Target = in.name
		j.strike()
		in.signal(syscall.SIGKILL)
		sleep(ctx, j.jitter(500*time.Millisecond, 1500*time.Millisecond))
		e.restart(in)
	case "pause-leader":
		i := leader(e.bases())
		if i < 0 {
			i = j.rng.Intn(len(e.insts))
			f.Note = "no leader answered; paused a random instance"
		}
		in := e.insts[i]
		f.Target = in.name
		j.strike()
		// Half the time at the worst moment: inside a commit (see pauseInCommit).
		held := false
		if j.rng.Intn(2) == 0 {
			held = j.pauseInCommit(in)
			f.Note = "missed every commit; paused anyway"
			if held {
				f.Note = "paused holding an open write transaction"
			}
		} else {
			in.signal(syscall.SIGSTOP)
		}
		// Longer than the lease: another instance must take over, and
		// nothing the paused one holds may stall it. When it holds an open
		// write transaction, long enough for a stall to show as a gap.
		pause := e.lease + j.jitter(time.Second, 3*time.Second)
		if held {
			pause = e.lease + j.jitter(3*time.Second, 2*time.Second)
		}
		sleep(ctx, pause)
		in.signal(syscall.SIGCONT)
	case "redis-restart":
		f.Target = "redis"
		j.strike()
		e.redis.stop()
		sleep(ctx, j.jitter(time.Second, 2*time.Second))
		if err := e.redis.start(); err != nil {
			e.problem(vProcess, "redis did not restart: %v", err)
		}
	case "postgres-restart":
		f.Target = "postgres"
		j.strike()
		e.pg.stop()
		sleep(ctx, j.jitter(time.Second, 3*time.Second))
		if err := e.pg.start(); err != nil {
			e.problem(vProcess, "postgres did not restart: %v", err)
		}
	case "disk-full":
		f.Target = "data dir"
		j.strike()
		if err := e.disk.fill(); err != nil {
			f.Injected, f.Note = false, err.Error()
			return
		}
		sleep(ctx, j.jitter(3*time.Second, 3*time.Second))
		// Half the time the engine dies before the disk is freed (a crash,
		// a redeploy): whatever it answered 2xx must be on disk already.
		crash := j.rng.Intn(2) == 0
		if crash {
			f.Note = "killed while full"
			e.insts[0].signal(syscall.SIGKILL)
		}
		if err := e.disk.free(); err != nil {
			e.problem(vProcess, "could not free the disk: %v", err)
		}
		if crash {
			e.restart(e.insts[0])
		}
	case "read-only":
		j.readOnly(ctx, f)
	}
}

// readOnly remounts the data directory read-only under the running engine
// if the kernel lets it (it refuses while a file is open for writing);
// otherwise it kills the engine, remounts, and starts it on the read-only
// directory: it must either run (not ready) or exit with a clear error,
// never panic. Then it heals and the engine must start again.
func (j *injector) readOnly(ctx context.Context, f *fault) {
	e := j.e
	in := e.insts[0]
	f.Target = in.name
	if err := e.disk.remount(true); err == nil {
		f.Note = "live remount"
		sleep(ctx, j.jitter(3*time.Second, 2*time.Second))
		if err := e.disk.remount(false); err != nil {
			e.problem(vProcess, "could not remount rw: %v", err)
		}
		return
	} else if !strings.Contains(err.Error(), "busy") {
		f.Injected, f.Note = false, err.Error()
		return
	}
	in.signal(syscall.SIGKILL)
	if err := e.disk.remount(true); err != nil {
		f.Injected, f.Note = false, err.Error()
		e.restart(in)
		return
	}
	if err := in.start(); err != nil {
		f.Note = "start on a read-only dir refused: " + lastLine(err.Error())
	} else {
		f.Note = "started on a read-only dir"
		sleep(ctx, j.jitter(2*time.Second, 2*time.Second))
	}
	if err := e.disk.remount(false); err != nil {
		e.problem(vProcess, "could not remount rw: %v", err)
	}
	if !in.running() {
		e.restart(in)
	}
}

// pauseInCommit stops in while it is inside a PostgreSQL write
// transaction: it waits for one to be open, stops the process and looks
// again; if the commit finished in between it lets the process go (a
// stutter of a few milliseconds, like a GC pause) and tries again, up to
// 30 times, with a burst of commands every 5 tries to keep commits coming.
// It always returns with in stopped; true when it holds a transaction.
func (j *injector) pauseInCommit(in *instance) bool {
	for k := 0; k < 30; k++ {
		if k%5 == 4 {
			j.strike()
		}
		if !j.e.pg.writing(300 * time.Millisecond) {
			continue
		}
		in.signal(syscall.SIGSTOP)
		if j.e.pg.writing(0) {
			return true
		}
		in.signal(syscall.SIGCONT)
	}
	in.signal(syscall.SIGSTOP)
	return false
}

// strike sends a burst of test alerts to every instance just before a
// fault (the followers forward theirs to the leader), then waits 0-80 ms,
// so that the fault lands while they are executed and committed.
func (j *injector) strike() {
	var targets []string
	for _, x := range j.e.insts {
		targets = append(targets, x.base())
	}
	j.w.burst(targets, 2*len(targets))
	time.Sleep(time.Duration(j.rng.Intn(80)) * time.Millisecond)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
