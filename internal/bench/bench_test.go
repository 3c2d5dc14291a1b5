package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/app"
)

// startEngine runs the real engine in-process on a free port with a
// temporary data directory, configured as BENCHMARKS.md tells a user to run
// it, and returns its base URL.
func startEngine(t *testing.T) string {
	t.Helper()
	url, _ := startStoppableEngine(t)
	return url
}

// startStoppableEngine is startEngine with a stop for the test to call
// (the cleanup stops it otherwise).
func startStoppableEngine(t *testing.T) (string, func()) {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Simulate = false
	cfg.RatePerSecond = -1
	cfg.MaxStreamsPerClient = 0
	cfg.ShutdownSpread = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("engine stopped with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + a.Addr(), stop
}

func smallConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.URL = url
	cfg.Subscribers = 20
	cfg.Duration = 2 * time.Second
	cfg.Settle = 300 * time.Millisecond
	cfg.Drain = 5 * time.Second
	return cfg
}

// checkStreams asserts what every run with subscribers must report.
func checkStreams(t *testing.T, rep *Report, n int) {
	t.Helper()
	if rep.ConnectionsMade != n || rep.ConnectionsFailed != 0 || rep.ConnectionsLost != 0 {
		t.Fatalf("streams: %d made, %d failed, %d lost, want %d made; failures %v", rep.ConnectionsMade, rep.ConnectionsFailed, rep.ConnectionsLost, n, rep.Failures)
	}
	if rep.FileLimit < uint64(n) {
		t.Errorf("file limit %d", rep.FileLimit)
	}
	// Memory and CPU come from the engine's /metrics, when it serves them.
	if rep.RSSIdleBytes == nil {
		t.Logf("engine without /metrics: %v", rep.Notes)
		return
	}
	if *rep.RSSIdleBytes <= 0 || rep.KiBPerConnection == nil || rep.ServerCPUSeconds == nil || *rep.ServerCPUSeconds < 0 {
		t.Errorf("server metrics: rss %v, KiB/conn %v, cpu %v", rep.RSSIdleBytes, rep.KiBPerConnection, rep.ServerCPUSeconds)
	}
	if rep.ServerStreamsOpen == nil || *rep.ServerStreamsOpen != float64(n) {
		t.Errorf("server reports %v density streams open, want %d", rep.ServerStreamsOpen, n)
	}
}

func checkLatency(t *testing.T, l Latency, samples int64) {
	t.Helper()
	if l.Samples != samples {
		t.Errorf("latency has %d samples, want one per delivery (%d)", l.Samples, samples)
	}
	if !(l.P50 > 0 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latency quantiles out of order: %+v", l)
	}
}

func TestStreamModeMeasuresDeliveries(t *testing.T) {
	url := startEngine(t)
	cfg := smallConfig(url)
	var progress bytes.Buffer
	rep, err := Run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatal(err, progress.String())
	}
	checkStreams(t, rep, 20)
	// 40 readings/s for 2 s (80), whatever a loaded scheduler did to the ticks.
	if rep.ReadingsSent < 30 || rep.ReadingsAccepted != rep.ReadingsSent || rep.ReadingsRefused != 0 {
		t.Fatalf("readings: %d sent, %d accepted, %d refused; failures %v", rep.ReadingsSent, rep.ReadingsAccepted, rep.ReadingsRefused, rep.Failures)
	}
	if rep.Expected != rep.ReadingsAccepted*20 {
		t.Errorf("expected deliveries %d, want accepted × streams = %d", rep.Expected, rep.ReadingsAccepted*20)
	}
	// Each zone gets a reading every few hundred milliseconds: 20 idle
	// streams keep up, so (almost) nothing is conflated. Never more than
	// expected: a duplicate would be a bug in the engine or the tool.
	if rep.Received > rep.Expected || rep.ShareDelivered < 0.9 {
		t.Errorf("received %d of %d (share %.3f)", rep.Received, rep.Expected, rep.ShareDelivered)
	}
	if rep.DeliveriesPerSec <= 0 {
		t.Errorf("deliveries/s %v", rep.DeliveriesPerSec)
	}
	checkLatency(t, rep.Latency, rep.Received)

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"20 made, 0 failed", "deliveries", "p99.9", "per million deliveries"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// An engine that goes away during the load (a crash, a redeploy) still
// gets a report: its streams counted lost, what arrived before, and a note
// that its CPU could not be read, instead of no report at all.
func TestEngineGoneDuringTheLoadIsReported(t *testing.T) {
	url, stop := startStoppableEngine(t)
	cfg := smallConfig(url)
	cfg.Duration = 3 * time.Second
	var progress syncWriter
	go func() {
		for !strings.Contains(progress.String(), "posting") {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Second)
		stop()
	}()
	rep, err := Run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, progress.String())
	}
	if rep.ConnectionsMade != 20 || rep.ConnectionsLost != 20 {
		t.Errorf("%d streams made, %d lost, want 20 and 20; failures %v", rep.ConnectionsMade, rep.ConnectionsLost, rep.Failures)
	}
	if rep.Received == 0 || rep.ServerCPUSeconds != nil {
		t.Errorf("received %d, server CPU %v: want deliveries from before the stop and no CPU", rep.Received, rep.ServerCPUSeconds)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "did not answer after the load") {
		t.Errorf("notes %q do not say the metrics were gone", rep.Notes)
	}
}

// syncWriter is a buffer the run writes while the test reads it (this
// package's tests are vetted for Windows too, where testenv does not build).
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestBroadcastCommandJSON(t *testing.T) {
	url := startEngine(t)
	var out, errOut bytes.Buffer
	args := []string{"--url", url, "--subscribers", "20", "--broadcast", "3", "--settle", "200ms", "--json"}
	if err := RunCommand(context.Background(), args, &out, &errOut, func(string) string { return "" }); err != nil {
		t.Fatal(err, errOut.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	checkStreams(t, &rep, 20)
	if rep.Mode != ModeBroadcast || rep.ReadingsAccepted != 3 || rep.Received != 60 || rep.ShareDelivered != 1 {
		t.Fatalf("broadcast: %+v", rep)
	}
	if b := rep.BroadcastComplete; b == nil || b.Samples != 3 || b.Max < b.P50 || b.P50 <= 0 {
		t.Fatalf("broadcast completion %+v", rep.BroadcastComplete)
	}
	checkLatency(t, rep.Latency, 60)
}

func TestIngestModeCountsAcceptedReadings(t *testing.T) {
	url := startEngine(t)
	cfg := smallConfig(url)
	cfg.Mode, cfg.Subscribers, cfg.Batch, cfg.Duration = ModeIngest, 0, 200, time.Second
	rep, err := Run(context.Background(), cfg, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// Densities sweep up to emergency: alerts are raised and committed, and
	// every batch is still accepted whole.
	if rep.ReadingsAccepted < 200 || rep.ReadingsRefused != 0 || rep.ReadingsAccepted%200 != 0 {
		t.Fatalf("ingest: %d accepted, %d refused; failures %v", rep.ReadingsAccepted, rep.ReadingsRefused, rep.Failures)
	}
	if rep.SendRate <= 0 {
		t.Errorf("accepted readings/s %v", rep.SendRate)
	}
}

// TestSensorsModeOneReadingPerConnection: --sensors posts one reading per
// request from that many connections, and the engine judges each sensor's
// readings as its own (a refused reading, e.g. out of order, would show).
func TestSensorsModeOneReadingPerConnection(t *testing.T) {
	url := startEngine(t)
	cfg := smallConfig(url)
	cfg.Mode, cfg.Subscribers, cfg.Sensors, cfg.Duration = ModeIngest, 0, 40, time.Second
	rep, err := Run(context.Background(), cfg, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ReadingsAccepted < 40 || rep.ReadingsRefused != 0 {
		t.Fatalf("sensors: %d accepted, %d refused; failures %v", rep.ReadingsAccepted, rep.ReadingsRefused, rep.Failures)
	}
	if q := rep.RequestLatency; q == nil || q.Samples != rep.ReadingsAccepted || q.P50 <= 0 {
		t.Errorf("request latency %+v for %d readings", q, rep.ReadingsAccepted)
	}
	// More sensors than the engine takes in the venue's zones is refused
	// before anything is sent, not measured as failures.
	cfg.Sensors = 64*100 + 1
	if _, err := Run(context.Background(), cfg, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "at most 64 sensors per zone") {
		t.Errorf("too many sensors: %v", err)
	}
}

func TestRunRefusesWhatItCannotMeasure(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"https":           func(c *Config) { c.URL = "https://127.0.0.1:1" },
		"unknown topic":   func(c *Config) { c.Topics = "density,weather" },
		"alerts only":     func(c *Config) { c.Topics = "alerts" },
		"zero rate":       func(c *Config) { c.Rate = 0 },
		"broadcast to 0":  func(c *Config) { c.Mode, c.Subscribers = ModeBroadcast, 0 },
		"sensors, stream": func(c *Config) { c.Sensors = 10 },
	} {
		cfg := smallConfig("http://127.0.0.1:1")
		mutate(&cfg)
		if _, err := Run(context.Background(), cfg, &bytes.Buffer{}); err == nil || strings.Contains(err.Error(), "connect") {
			t.Errorf("%s: want a config error, got %v", name, err)
		}
	}
	// Nothing listens on port 1: the run cannot start and says why.
	_, err := Run(context.Background(), smallConfig("http://127.0.0.1:1"), &bytes.Buffer{})
	var target interface{ Timeout() bool }
	if err == nil || !(strings.Contains(err.Error(), "refused") || errors.As(err, &target)) {
		t.Errorf("unreachable engine: %v", err)
	}
}
