// Package bench is the load tool of `crowdrisk bench`: it drives a running
// engine the way a control room full of screens and a venue full of sensors
// would, and measures what issue 7 asks for: connections held, memory per
// idle connection, deliveries per second, the share delivered, latency from
// a reading's send time to its arrival on every stream, and the server's CPU
// time per million deliveries (from the server's own /metrics).
//
// The client is kept cheap on purpose, because it shares a 2-core machine
// with the server: raw TCP with a hand-written HTTP/1.1 request per stream,
// one small buffer per connection, and a reader that only looks at the two
// fields it needs.
package bench

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Mode selects the scenario.
type Mode string

const (
	// ModeStream opens the subscribers, then posts readings at Rate for
	// Duration (issue 7's 5,000 × 40/s scenario).
	ModeStream Mode = "stream"
	// ModeBroadcast opens the subscribers, then sends one reading at a time
	// and measures how long it takes to reach all of them (the 19,000-stream
	// broadcast), Repeat times.
	ModeBroadcast Mode = "broadcast"
	// ModeIngest posts batches of Batch readings as fast as the engine
	// accepts them for Duration (subscribers optional).
	ModeIngest Mode = "ingest"
)

// Config is one benchmark run.
type Config struct {
	URL string // the engine, e.g. http://127.0.0.1:8080
	// PostURL, when set, is another instance of the same cluster that the
	// readings are posted to, so the run measures the way from one
	// instance through Redis to the streams of another.
	PostURL string
	Token   string // Bearer token, empty without auth

	H2 H2Config // --h2: HTTPS, streams multiplexed over HTTP/2 (h2.go)

	Subscribers int    // SSE streams to open
	Topics      string // topics of each stream, e.g. "density" or "density,alerts"
	Transport   string // TransportSSE (default) or TransportWS (ws.go)
	Mode        Mode

	Rate     float64       // readings per second (stream mode)
	Duration time.Duration // load phase (stream and ingest modes)
	Tick     time.Duration // the sender's batching interval (stream mode)
	Repeat   int           // broadcasts (broadcast mode)
	Batch    int           // readings per POST (ingest mode)
	Workers  int           // concurrent POSTers (ingest mode)
	// Sensors, in ingest mode, replaces the batch workers with this many
	// sensors, each on its own connection, one reading per request
	// (sensors.go).
	Sensors int

	// Settle is how long the opened streams sit idle before the memory is
	// read (lets the server finish setting them up and the heap settle).
	Settle time.Duration
	// Drain bounds the wait for late deliveries after the load phase.
	Drain time.Duration
	// ConnectTimeout bounds opening all streams; DialConcurrency caps the
	// handshakes in flight (a storm of SYNs only measures the backlog).
	ConnectTimeout  time.Duration
	DialConcurrency int
	// BroadcastTimeout bounds the wait for one broadcast to reach everyone.
	BroadcastTimeout time.Duration
}

// DefaultConfig is a small run against the default address.
func DefaultConfig() Config {
	return Config{
		URL:              "http://127.0.0.1:8080",
		H2:               H2Config{StreamsPerConn: 100},
		Subscribers:      100,
		Topics:           "density",
		Mode:             ModeStream,
		Rate:             40,
		Duration:         10 * time.Second,
		Tick:             10 * time.Millisecond,
		Repeat:           10,
		Batch:            1000,
		Workers:          2,
		Settle:           2 * time.Second,
		Drain:            10 * time.Second,
		ConnectTimeout:   2 * time.Minute,
		DialConcurrency:  64,
		BroadcastTimeout: 10 * time.Second,
	}
}

// Validate checks the values a flag parser cannot.
func (c Config) Validate() error {
	if c.PostURL != "" {
		if p, err := url.Parse(c.PostURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("--post-url %q is not an http(s) URL", c.PostURL)
		}
	}
	u, err := url.Parse(c.URL)
	if err == nil {
		if err = c.H2.validate(u.Scheme); err == nil && u.Host == "" {
			err = fmt.Errorf("no host")
		}
	}
	switch {
	case err != nil:
		// Plain HTTP unless --h2: TLS would measure the cipher, not the engine.
		return fmt.Errorf("--url %q: %v", c.URL, err)
	case c.Subscribers < 0:
		return fmt.Errorf("--subscribers must not be negative")
	case c.Mode != ModeStream && c.Mode != ModeBroadcast && c.Mode != ModeIngest:
		return fmt.Errorf("unknown mode %q", c.Mode)
	case c.Mode == ModeStream && (c.Rate <= 0 || c.Duration <= 0):
		return fmt.Errorf("--rate and --duration must be positive")
	case c.Mode == ModeBroadcast && (c.Repeat <= 0 || c.Subscribers == 0):
		return fmt.Errorf("--broadcast needs a positive count and at least one subscriber")
	case c.Mode == ModeIngest && (c.Batch <= 0 || c.Workers <= 0 || c.Duration <= 0):
		return fmt.Errorf("--batch, --workers and --duration must be positive")
	case c.Sensors < 0 || (c.Sensors > 0 && c.Mode != ModeIngest):
		return fmt.Errorf("--sensors is a number of sensors for --ingest")
	case c.Sensors > 0 && c.H2.Enabled:
		return fmt.Errorf("--sensors posts over plain HTTP/1.1 connections; drop --h2")
	case c.Transport != "" && c.Transport != TransportSSE && c.Transport != TransportWS:
		return fmt.Errorf("--transport must be sse or ws")
	case c.Tick <= 0 || c.DialConcurrency <= 0:
		return fmt.Errorf("--tick and --dial-concurrency must be positive")
	}
	for _, t := range strings.Split(c.Topics, ",") {
		if t = strings.TrimSpace(t); t != "density" && t != "alerts" {
			return fmt.Errorf("--topics: unknown topic %q (want density, alerts)", t)
		}
	}
	if c.Mode != ModeIngest && !strings.Contains(c.Topics, "density") {
		return fmt.Errorf("--topics must include density: the benchmark measures readings")
	}
	return nil
}
