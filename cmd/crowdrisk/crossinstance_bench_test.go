package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/bench"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// BenchmarkCrossInstance (issue 12): a reading posted to instance A of a
// cluster and delivered to the subscribers of instance B (through Redis),
// against the same load on a single instance, in one run on this machine.
// It runs the load once whatever b.N is:
//
//	go test -run '^$' -bench CrossInstance -benchtime 1x ./cmd/crowdrisk
//
// CROWDRISK_BENCH_SUBS (default 5000), _RATE (20 readings/s) and _SECONDS
// (20) size it. Reported: p50 and p99 latency (ms) and the share delivered,
// per setup, and the p99 ratio.
func BenchmarkCrossInstance(b *testing.B) {
	subs, rate, secs := envInt("CROWDRISK_BENCH_SUBS", 5000), envInt("CROWDRISK_BENCH_RATE", 20), envInt("CROWDRISK_BENCH_SECONDS", 20)
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max // the servers inherit it: one descriptor per stream
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	limits := []string{"--simulate=false", "--rate-limit", "-1", "--max-streams-per-client", "0", "--max-streams", "20000", "--log-level", "warn"}
	cfg := bench.DefaultConfig()
	cfg.Subscribers, cfg.Rate, cfg.Duration, cfg.Settle = subs, float64(rate), time.Duration(secs)*time.Second, 3*time.Second

	single := start(b, freeAddr(b), b.TempDir(), limits...)
	one := loadBench(b, cfg, single.base, "")
	single.stop(b)

	r := testenv.Redis(b)
	pg := testenv.Postgres(b)
	var ps []*proc
	for range 2 {
		ps = append(ps, start(b, freeAddr(b), b.TempDir(), append(limits, "--redis", r.URL(), "--postgres", pg)...))
	}
	lead := waitLeader(b, ps, 10*time.Second)
	a, other := lead, ps[0] // post to the leader, stream from the follower:
	if other == lead {      // the reading goes A -> engine -> Redis -> B
		other = ps[1]
	}
	two := loadBench(b, cfg, other.base, a.base)

	for _, x := range []struct {
		name string
		rep  *bench.Report
	}{{"single", one}, {"cross", two}} {
		b.ReportMetric(x.rep.Latency.P50, x.name+"-p50-ms")
		b.ReportMetric(x.rep.Latency.P99, x.name+"-p99-ms")
		b.ReportMetric(x.rep.ShareDelivered*100, x.name+"-delivered-%")
	}
	if one.Latency.P99 > 0 {
		b.ReportMetric(two.Latency.P99/one.Latency.P99, "p99-ratio")
	}
	b.Logf("single instance: %d streams, %.0f deliveries/s, p50 %.1f ms, p99 %.1f ms, %.2f%% delivered",
		one.ConnectionsMade, one.DeliveriesPerSec, one.Latency.P50, one.Latency.P99, one.ShareDelivered*100)
	b.Logf("A -> Redis -> B: %d streams, %.0f deliveries/s, p50 %.1f ms, p99 %.1f ms, %.2f%% delivered",
		two.ConnectionsMade, two.DeliveriesPerSec, two.Latency.P50, two.Latency.P99, two.ShareDelivered*100)
}

func loadBench(b *testing.B, cfg bench.Config, url, postURL string) *bench.Report {
	b.Helper()
	cfg.URL, cfg.PostURL = url, postURL
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := bench.Run(ctx, cfg, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if rep.ConnectionsMade != cfg.Subscribers {
		b.Fatalf("%d of %d streams opened: %v", rep.ConnectionsMade, cfg.Subscribers, rep.Notes)
	}
	return rep
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
