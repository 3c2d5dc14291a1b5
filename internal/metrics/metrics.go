// Package metrics exposes the engine's health in the Prometheus text format
// at /metrics: open streams, the fan-out counters of the hub, the ingest rate,
// alert changes, the end-to-end delivery latency, and the standard process
// and Go runtime series (the load benchmark reads the server's RSS and CPU
// time from them).
//
// Everything lives in a registry of its own, so two engines in one process
// (tests) never share or collide on a series.
package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// Options configure the metrics. Zero values take the defaults.
type Options struct {
	// Hub, when set, is read at every scrape for the stream and fan-out
	// series. Its counters are atomics, so a scrape never stalls a publish.
	Hub *hub.Hub
	// Logger receives errors met while serving a scrape.
	Logger *slog.Logger
	// Now is the clock of the delivery-latency histogram. Default time.Now.
	Now func() time.Time
	// Zones, when set, is read at every scrape for the per-zone gauges
	// (zonecollector.go): the engine's latest reading of every zone.
	Zones func() []crowd.DensityReading
}

// LatencyBuckets are the bounds of crowdrisk_delivery_latency_seconds: from
// half a millisecond (an idle loopback) to ten seconds (a server far behind),
// with a bound at each latency target of the project (100 ms, 150 ms).
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics holds the registry and the series the engine and streams update.
type Metrics struct {
	reg      *prometheus.Registry
	log      *slog.Logger
	now      func() time.Time
	ingested prometheus.Counter
	alerts   *prometheus.CounterVec
	latency  prometheus.Histogram
	writes   prometheus.Counter
	// The store's health (engine.StoreObserver).
	storeDegraded prometheus.Gauge
	outbox        prometheus.Gauge
	commitFails   prometheus.Counter
	// Density history points dropped (engine.HistoryObserver).
	historyDropped prometheus.Counter
}

// The engine calls Ingested and AlertChanged, and reports its store.
var (
	_ engine.Observer      = (*Metrics)(nil)
	_ engine.StoreObserver = (*Metrics)(nil)
)

// New builds the registry with every series registered.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: opts.Logger,
		now: opts.Now,
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crowdrisk_readings_ingested_total",
			Help: "Readings accepted by the engine (rate() of it is the ingest rate).",
		}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crowdrisk_alert_changes_total",
			Help: "Alert changes (raise, escalation, re-notification, acknowledgement, resolution) by the alert's level, status and kind after the change.",
		}, []string{"level", "status", "kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crowdrisk_delivery_latency_seconds",
			Help:    "From an event's publication to the end of the stream write that carried it; one observation per write, for the oldest event in it (the worst of the batch).",
			Buckets: LatencyBuckets,
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crowdrisk_stream_writes_total",
			Help: "Stream writes that carried at least one event (several events coalesce into one write).",
		}),
		storeDegraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crowdrisk_store_degraded",
			Help: "1 while the store fails (commits refused, or its check fails): alerts are shown but not yet saved, operator commands get 503.",
		}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crowdrisk_store_outbox_batches",
			Help: "Batches of engine-made changes waiting, in order, to be committed.",
		}),
		commitFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crowdrisk_store_commit_failures_total",
			Help: "Commits the store refused (each retry counts).",
		}),
		historyDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crowdrisk_history_dropped_total",
			Help: "Judged readings whose density history point was not stored (the store failed, or more waited than the buffer holds); alerts are not affected.",
		}),
	}
	m.reg.MustRegister(
		m.ingested, m.alerts, m.latency, m.writes, m.storeDegraded, m.outbox, m.commitFails, m.historyDropped,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if opts.Hub != nil {
		m.reg.MustRegister(newHubCollector(opts.Hub))
	}
	if opts.Zones != nil {
		m.reg.MustRegister(newZoneCollector(opts.Zones))
	}
	return m
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogAdapter{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// Registry is the registry, for callers that add series of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Ingested counts accepted readings (engine.Observer).
func (m *Metrics) Ingested(n int) { m.ingested.Add(float64(n)) }

// AlertChanged counts one alert change (engine.Observer).
func (m *Metrics) AlertChanged(a crowd.Alert) {
	m.alerts.WithLabelValues(a.Level.String(), string(a.Status), string(a.Kind)).Inc()
}

// StoreCommitFailed counts a refused commit (engine.StoreObserver).
func (m *Metrics) StoreCommitFailed() { m.commitFails.Inc() }

// StoreState sets the store gauges (engine.StoreObserver).
func (m *Metrics) StoreState(degraded bool, waiting int) {
	v := 0.0
	if degraded {
		v = 1
	}
	m.storeDegraded.Set(v)
	m.outbox.Set(float64(waiting))
}

// OnDelivered records one stream write of n events whose oldest was
// published at oldestPublished (sse.Options.OnDelivered). It runs after
// every write of every stream, so it only touches atomics.
func (m *Metrics) OnDelivered(n int, oldestPublished time.Time) {
	if n <= 0 {
		return
	}
	m.writes.Inc()
	if !oldestPublished.IsZero() {
		m.latency.Observe(max(m.now().Sub(oldestPublished).Seconds(), 0))
	}
}

// slogAdapter lets promhttp report scrape errors through slog.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Println(v ...any) {
	a.log.Error("metrics scrape failed", "err", slogArgs(v))
}

func slogArgs(v []any) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}
