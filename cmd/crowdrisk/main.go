// Command crowdrisk is the Crowd Risk Engine: one binary that watches the
// crowd density of every zone of a venue, judges the risk, raises alerts and
// streams it all live to a control room.
//
//	crowdrisk [serve] [flags]   run the engine (default)
//	crowdrisk replay FILE ...   feed recorded data to a running engine
//	crowdrisk token ...         mint a token for a sensor, a script or a person
//	crowdrisk bench ...         load-test a running engine
//	crowdrisk backup ...        copy the embedded database while it runs
//	crowdrisk restore ...       put a backup in place (the engine stopped)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/crowdrisk/crowdrisk/internal/app"
	"github.com/crowdrisk/crowdrisk/internal/auth"
)

const usage = `crowdrisk: the Crowd Risk Engine

Usage:
  crowdrisk [serve] [flags]     run the engine (crowdrisk serve -h lists the flags)
  crowdrisk replay FILE [flags] replay a trajectory or CSV file into a running engine
  crowdrisk token [flags]       mint a JWT (needs CROWDRISK_JWT_SECRET)
  crowdrisk bench [flags]       load-test a running engine (see BENCHMARKS.md)
  crowdrisk backup --out FILE   copy the SQLite database while the engine runs (see docs/deployment.md)
  crowdrisk restore --from FILE put a backup in place of the database (the engine stopped)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "crowdrisk:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "replay":
		return runReplay(ctx, args, stdout, stderr)
	case "token":
		return auth.RunTokenCommand(args, stdout, stderr, os.Getenv)
	case "bench":
		return runBench(ctx, args, stdout, stderr)
	case "chaos":
		return runChaos(ctx, args, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := app.ParseFlags(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	log, err := cfg.NewLogger(stderr)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	base := a.BaseURL()
	fmt.Fprintf(stdout, "Crowd Risk Engine listening on %s\n  dashboard: %s/admin/crowd-risk/monitor\n  testing:   %s/admin/crowd-risk/testing\n  API:       %s/api/crowd-risk\n",
		a.Addr(), base, base, base)
	return a.Run(ctx)
}
