// Package chaos is the fault-injection campaign of `crowdrisk chaos`, in
// the spirit of Jepsen: it runs the real binary (three instances on a real
// Redis and PostgreSQL, or one on SQLite), drives it with sensors,
// operators and reconnecting subscribers, injects faults at random from a
// seed, and then checks what the clients saw and what the store holds
// against the promises of README.md and docs/deployment.md.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Config is one campaign.
type Config struct {
	Binary    string        // the crowdrisk binary to run
	Duration  time.Duration // workload time, split 2:1 between cluster and single in "both"
	Seed      int64
	Mode      string // cluster, single or both
	Instances int    // cluster size
	Lease     time.Duration
	Out       string    // logs; a temporary directory when empty
	Faults    []string  // fault kinds to inject (see FaultKinds); all when empty
	Log       io.Writer // progress lines
}

// Result is the outcome of every mode run.
type Result struct {
	Modes []*ModeResult
}

// Violations counts every violation of every mode.
func (r *Result) Violations() int {
	n := 0
	for _, m := range r.Modes {
		n += m.verdict.count()
	}
	return n
}

// ModeResult is one mode's observation and verdict.
type ModeResult struct {
	Mode     string
	Seed     int64
	Duration time.Duration
	Out      string
	obs      *observation
	verdict  *verdict
	readings map[string]int
}

// Violations lists the violations of this mode by kind.
func (m *ModeResult) Violations() map[string][]string { return m.verdict.Violations }

// Run runs the campaign. An error means the campaign itself could not run
// (a missing server binary, no free port); violations are in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Binary == "" {
		return nil, errors.New("chaos: no binary")
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Duration <= 0 {
		cfg.Duration = time.Minute
	}
	if cfg.Instances <= 0 {
		cfg.Instances = 3
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 3 * time.Second
	}
	if cfg.Out == "" {
		d, err := os.MkdirTemp("", "crowdrisk-chaos-")
		if err != nil {
			return nil, err
		}
		cfg.Out = d
	}
	type step struct {
		mode string
		d    time.Duration
	}
	var plan []step
	switch cfg.Mode {
	case "cluster", "single":
		plan = []step{{cfg.Mode, cfg.Duration}}
	case "both", "":
		c := cfg.Duration * 2 / 3
		plan = []step{{"cluster", c}, {"single", cfg.Duration - c}}
	default:
		return nil, fmt.Errorf("chaos: --mode must be cluster, single or both, not %q", cfg.Mode)
	}
	res := &Result{}
	for _, p := range plan {
		m, err := runMode(ctx, cfg, p.mode, p.d)
		if err != nil {
			return res, fmt.Errorf("chaos: %s: %w", p.mode, err)
		}
		res.Modes = append(res.Modes, m)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	return res, nil
}

func runMode(ctx context.Context, cfg Config, mode string, dur time.Duration) (*ModeResult, error) {
	dir := filepath.Join(cfg.Out, mode)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	e := &deployment{mode: mode, dir: dir, lease: cfg.Lease, log: cfg.Log}
	defer e.down()
	e.logf("starting in %s (seed %d, %s)", dir, cfg.Seed, dur)
	if err := e.up(cfg.Binary, cfg.Instances); err != nil {
		return nil, err
	}
	bases := e.bases()
	if mode == "cluster" {
		deadline := time.Now().Add(20 * time.Second)
		for leader(bases) < 0 {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, errors.New("no leader elected at start")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	obs := &observation{Mode: mode, Lease: cfg.Lease}

	// Screens first, so they see everything from the first reading on.
	subCtx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	var subWG sync.WaitGroup
	for i := range bases {
		for k := 0; k < 3; k++ {
			s := &subscriber{name: fmt.Sprintf("sub-%d.%d", i+1, k+1), bases: bases, home: i}
			obs.Subs = append(obs.Subs, s)
			subWG.Add(1)
			go func() { defer subWG.Done(); s.run(subCtx) }()
		}
	}
	var roles []roleSample
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	var pollWG sync.WaitGroup
	if mode == "cluster" {
		pollWG.Add(1)
		go func() { defer pollWG.Done(); roles = pollRoles(pollCtx, bases) }()
	}
	time.Sleep(time.Second)

	// The workload, then the faults until shortly before its end, so the
	// last fault has healed while operators still act.
	w := newWorkload(bases, cfg.Seed)
	wctx, stopWork := context.WithTimeout(ctx, dur)
	defer stopWork()
	var wg sync.WaitGroup
	for i, p := range profiles {
		wg.Add(1)
		go func() { defer wg.Done(); w.sensor(wctx, i, p) }()
	}
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); w.operator(wctx, i) }()
	}
	j := &injector{e: e, w: w, only: cfg.Faults, rng: rand.New(rand.NewSource(cfg.Seed))}
	j.run(wctx, time.Now().Add(dur-4*time.Second))
	wg.Wait()
	w.inflight.Wait()
	e.heal()
	obs.Faults = j.faults
	e.logf("workload over: %d operator requests, %d faults; settling", len(w.ops), len(j.faults))

	settle(ctx, e, obs.Subs)
	stopSubs()
	subWG.Wait()
	stopPoll()
	pollWG.Wait()
	obs.Roles = roles
	obs.Ops = w.ops
	obs.Emergencies = finalEmergencies(bases)
	driver, dsn := e.storeDSN()
	st, err := readStore(ctx, driver, dsn)
	if err != nil {
		e.problem(vUnavailable, "%v", err)
	}
	obs.Store = st
	e.down()
	e.scanLogs()
	obs.Problems = e.problems
	dump(dir, obs)
	m := &ModeResult{Mode: mode, Seed: cfg.Seed, Duration: dur, Out: dir, obs: obs, verdict: check(obs), readings: w.reading}
	e.logf("checked: %d violations", m.verdict.count())
	return m, nil
}

func parseSeed(s string) (int64, error) {
	var n int64
	_, err := fmt.Sscan(s, &n)
	if err != nil {
		return 0, fmt.Errorf("seed %q: %w", s, err)
	}
	return n, nil
}
