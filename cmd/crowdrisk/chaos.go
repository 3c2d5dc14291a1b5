//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/chaos"
)

// runChaos is `crowdrisk chaos`: the fault-injection campaign against this
// very binary (or --binary), see docs/deployment.md. It exits non-zero on
// any violation.
func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := chaos.Config{Log: stderr}
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "workload time (in both modes: 2/3 cluster, 1/3 single)")
	fs.Int64Var(&cfg.Seed, "seed", time.Now().UnixNano()%1_000_000, "random seed of the workload and the faults")
	fs.StringVar(&cfg.Mode, "mode", "both", "cluster (instances on Redis + PostgreSQL), single (SQLite) or both")
	fs.IntVar(&cfg.Instances, "instances", 3, "instances in cluster mode")
	fs.DurationVar(&cfg.Lease, "lease-ttl", 3*time.Second, "--lease-ttl of the cluster instances")
	fs.StringVar(&cfg.Out, "out", "", "directory for the logs (default: a new temporary directory)")
	fs.StringVar(&cfg.Binary, "binary", "", "crowdrisk binary to run (default: this one)")
	faults := fs.String("faults", "", "comma-separated fault kinds to inject (default all: cluster "+
		strings.Join(chaos.FaultKinds["cluster"], ",")+"; single "+strings.Join(chaos.FaultKinds["single"], ",")+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *faults != "" {
		cfg.Faults = strings.Split(*faults, ",")
	}
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		cfg.Binary = exe
	}
	fmt.Fprintf(stderr, "chaos: seed %d (rerun with --seed %d)\n", cfg.Seed, cfg.Seed)
	res, err := chaos.Run(ctx, cfg)
	if err != nil {
		// Interrupted or unable to run: what was judged so far is shown,
		// marked as such, and the run fails.
		fmt.Fprintf(stdout, "campaign incomplete: %v\n", err)
	}
	if res != nil {
		res.Print(stdout)
	}
	if err != nil {
		return err
	}
	if n := res.Violations(); n > 0 {
		return errors.New(fmt.Sprint(n, " violations (seed ", cfg.Seed, ")"))
	}
	return nil
}
