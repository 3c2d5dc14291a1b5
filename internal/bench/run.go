package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Run executes one benchmark against a running engine and reports what it
// measured. Progress lines go to progress. A run that cannot start (bad
// config, engine unreachable) returns an error; failures during the run are
// counted in the report.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }
	rep := &Report{URL: cfg.URL, Mode: cfg.Mode, Subscribers: cfg.Subscribers, Topics: cfg.Topics}

	limit, err := raiseFileLimit()
	if err != nil {
		rep.note("%v", err)
	}
	rep.FileLimit = limit
	if need := uint64(cfg.Subscribers + fdHeadroom); limit > 0 && need > limit {
		rep.note("%d streams need about %d open files but this process may open %d: raise the hard limit (ulimit -Hn) or expect failures", cfg.Subscribers, need, limit)
		say("%s", rep.Notes[len(rep.Notes)-1])
	}

	u, _ := url.Parse(cfg.URL)
	api := newClient(strings.TrimRight(cfg.URL, "/"), cfg.Token)
	if cfg.H2.Enabled {
		if api.http.Transport, err = cfg.H2.apiTransport(); err != nil {
			return nil, err
		}
	}
	zones, err := api.zones(ctx)
	if err != nil {
		return nil, err
	}
	if len(zones) >= maxZones {
		zones = zones[:maxZones-1]
	}
	start := time.Now()
	table := newSentTable(zones, start)
	hist := &histogram{}
	path := streamPath(cfg)
	st := newStreams(u.Host, path, cfg.Token, table, hist)
	defer st.close()
	var h2 *h2Streams
	if cfg.H2.Enabled {
		if h2, err = newH2Streams(st, strings.TrimRight(cfg.URL, "/")+path, cfg.Token, cfg.H2); err != nil {
			return nil, err
		}
		defer h2.close() // before st.close, which waits for the readers
	}

	m0, haveMetrics, err := api.scrapeMetrics(ctx)
	if err != nil {
		return nil, err
	}
	if !haveMetrics {
		rep.note("the engine serves no /metrics: memory and CPU are not measured")
	}

	if cfg.Subscribers > 0 {
		say("opening %d streams (%s)", cfg.Subscribers, path)
		t0 := time.Now()
		if cfg.Transport == TransportWS {
			rep.note("subscribers on WebSocket (%s)", path)
			rep.ConnectionsMade, rep.ConnectionsFailed = st.openWS(ctx, path, cfg.Subscribers, cfg.DialConcurrency, cfg.ConnectTimeout)
		} else if h2 != nil {
			rep.ConnectionsMade, rep.ConnectionsFailed = h2.open(ctx, cfg.Subscribers, cfg.DialConcurrency, cfg.ConnectTimeout)
			rep.note("HTTP/2: %d streams over %d TLS connections (%d per connection)", rep.ConnectionsMade, h2.dials.Load(), cfg.H2.StreamsPerConn)
		} else {
			rep.ConnectionsMade, rep.ConnectionsFailed = st.open(ctx, cfg.Subscribers, cfg.DialConcurrency, cfg.ConnectTimeout)
		}
		rep.ConnectSeconds = time.Since(t0).Seconds()
		say("%d streams open, %d failed, in %.1f s; idle for %s", rep.ConnectionsMade, rep.ConnectionsFailed, rep.ConnectSeconds, cfg.Settle)
		if err := sleep(ctx, cfg.Settle); err != nil {
			return nil, err
		}
	}
	m1, _, err := api.scrapeMetrics(ctx)
	if err != nil {
		return nil, err
	}
	if haveMetrics {
		measureIdle(rep, m0, m1)
	}

	post := api
	if cfg.PostURL != "" {
		post = newClient(strings.TrimRight(cfg.PostURL, "/"), cfg.Token)
		if cfg.H2.Enabled {
			post.http.Transport = api.http.Transport
		}
		rep.note("readings posted to %s, streams on %s", cfg.PostURL, cfg.URL)
	}
	load := loader{cfg: cfg, api: api, post: post, zones: zones, table: table, streams: st, rep: rep, say: say}
	t0, cpu0 := time.Now(), processCPU()
	switch cfg.Mode {
	case ModeStream:
		err = load.stream(ctx)
	case ModeBroadcast:
		err = load.broadcast(ctx)
	case ModeIngest:
		if cfg.Sensors > 0 {
			err = load.ingestSensors(ctx)
		} else {
			err = load.ingest(ctx)
		}
	}
	if err != nil {
		return nil, err
	}
	if rep.LoadSeconds == 0 {
		rep.LoadSeconds = time.Since(t0).Seconds()
	}
	rep.BenchCPUSeconds = processCPU() - cpu0
	if busy := rep.BenchCPUSeconds / time.Since(t0).Seconds(); busy > 0.9 {
		rep.note("the load generator kept %.0f %% of a core busy: it may be what limits these numbers", 100*busy)
	}
	// An engine that died during the load still gets its report (what
	// arrived, the streams lost), only without its CPU.
	m2, _, err := api.scrapeMetrics(ctx)
	if err != nil && haveMetrics {
		haveMetrics = false
		rep.note("the engine's /metrics did not answer after the load (%v): its CPU is not measured", err)
	}

	rep.ConnectionsLost = st.lost.Load()
	rep.Received = st.received.Load()
	rep.Expected = rep.ReadingsAccepted * int64(rep.ConnectionsMade)
	if cfg.Mode == ModeIngest {
		rep.Expected = 0 // ingest readings are not tracked per stream
	}
	if rep.Expected > 0 {
		rep.ShareDelivered = float64(rep.Received) / float64(rep.Expected)
	}
	rep.Latency = hist.summary()
	if rep.LoadSeconds > 0 {
		rep.SendRate = float64(rep.ReadingsAccepted) / rep.LoadSeconds
	}
	if haveMetrics {
		cpu := m2["process_cpu_seconds_total"] - m1["process_cpu_seconds_total"]
		rep.ServerCPUSeconds = ptr(cpu)
		if rep.Received > 0 {
			rep.CPUSecondsPerMillion = ptr(cpu / float64(rep.Received) * 1e6)
		}
	}
	rep.Failures = st.failures()
	return rep, nil
}

// measureIdle reads the memory the idle streams cost the server.
func measureIdle(rep *Report, before, idle serverMetrics) {
	const rss = "process_resident_memory_bytes"
	b, ok1 := before[rss]
	a, ok2 := idle[rss]
	if !ok1 || !ok2 {
		rep.note("the engine's /metrics has no %s", rss)
		return
	}
	rep.RSSBeforeBytes, rep.RSSIdleBytes = ptr(b), ptr(a)
	if rep.ConnectionsMade > 0 {
		rep.KiBPerConnection = ptr((a - b) / float64(rep.ConnectionsMade) / 1024)
	}
	if v, ok := idle[`crowdrisk_streams_open{topic="density"}`]; ok {
		rep.ServerStreamsOpen = ptr(v)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
