package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
)

// Usage explains how the engine must run for the numbers to mean anything.
const Usage = `crowdrisk bench: load a RUNNING engine and measure it (see BENCHMARKS.md)

Start the engine quiet and without per-client limits, pinned to one core:
  taskset -c 0 crowdrisk serve --simulate=false --rate-limit -1 --max-streams-per-client 0
then run the benchmark on the other core:
  taskset -c 1 crowdrisk bench --subscribers 5000 --rate 40 --duration 30s

Modes: streams with readings at a fixed rate (default), --broadcast N (one
reading at a time to every stream, N times), --ingest (batches as fast as
the engine takes them).

Flags:
`

// RunCommand is the `crowdrisk bench` subcommand.
func RunCommand(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg := DefaultConfig()
	cfg.Token = getenv("CROWDRISK_TOKEN")
	fs := flag.NewFlagSet("crowdrisk bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage)
		fs.PrintDefaults()
	}
	var (
		broadcast int
		ingest    bool
		asJSON    bool
		jsonOut   string
	)
	fs.StringVar(&cfg.URL, "url", cfg.URL, "the running engine")
	fs.StringVar(&cfg.PostURL, "post-url", "", "post the readings to this other instance of the cluster (default: --url)")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "Bearer token (viewer and sensor roles) [$CROWDRISK_TOKEN]")
	fs.IntVar(&cfg.Subscribers, "subscribers", cfg.Subscribers, "SSE streams to open")
	fs.StringVar(&cfg.Topics, "topics", cfg.Topics, "topics of each stream (density or density,alerts)")
	fs.StringVar(&cfg.Transport, "transport", TransportSSE, "subscribers' transport: sse or ws (WebSocket at /api/crowd-risk/ws)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "readings per second, spread over the venue's zones")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the load phase")
	fs.DurationVar(&cfg.Tick, "tick", cfg.Tick, "the sender posts one batch per tick")
	fs.IntVar(&broadcast, "broadcast", 0, "broadcast mode: send this many single readings, each to every stream")
	fs.BoolVar(&ingest, "ingest", false, "ingest mode: POST batches as fast as accepted for --duration")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "readings per POST in ingest mode")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent POSTers in ingest mode")
	fs.IntVar(&cfg.Sensors, "sensors", 0, "ingest mode: this many sensors, each on its own connection, one reading per request (instead of --batch/--workers)")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "idle time after the streams open, before the memory is read")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "longest wait for late deliveries after the load")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", cfg.ConnectTimeout, "time allowed to open every stream")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", cfg.DialConcurrency, "stream handshakes in flight")
	fs.DurationVar(&cfg.BroadcastTimeout, "broadcast-timeout", cfg.BroadcastTimeout, "longest wait for one broadcast to reach every stream")
	cfg.H2.register(fs)
	var mq MQTTConfig
	mq.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&jsonOut, "json-out", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if mq.Broker != "" {
		rep, err := RunMQTT(ctx, cfg.URL, cfg.Token, mq, cfg.Duration, cfg.Drain, cfg.Rate*mqttRate(fs), stderr)
		if err != nil {
			return err
		}
		if asJSON {
			return rep.writeJSON(stdout)
		}
		return rep.WriteTable(stdout)
	}
	switch {
	case broadcast > 0 && ingest:
		return fmt.Errorf("--broadcast and --ingest are different runs; choose one")
	case broadcast > 0:
		cfg.Mode, cfg.Repeat = ModeBroadcast, broadcast
	case ingest:
		cfg.Mode = ModeIngest
	}
	rep, err := Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if jsonOut != "" {
		f, err := os.Create(jsonOut)
		if err != nil {
			return err
		}
		err = writeJSON(f, rep)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if asJSON {
		return writeJSON(stdout, rep)
	}
	return rep.WriteTable(stdout)
}

func writeJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
