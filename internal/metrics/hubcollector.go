package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// hubCollector turns one hub.Stats snapshot per scrape into series, so the
// counters of one scrape are consistent with each other and the hub keeps
// its counters as plain atomics (no Prometheus types on the publish path).
type hubCollector struct {
	hub *hub.Hub

	open, published, delivered, conflated, slow, resets, replayed *prometheus.Desc
}

func newHubCollector(h *hub.Hub) *hubCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &hubCollector{
		hub:       h,
		open:      d("crowdrisk_streams_open", "Open stream subscriptions by topic (a multiplexed stream counts once per topic).", "topic"),
		published: d("crowdrisk_events_published_total", "Events published to the hub."),
		delivered: d("crowdrisk_events_delivered_total", "Event deliveries written to clients (one event to N subscribers is N deliveries)."),
		conflated: d("crowdrisk_events_conflated_total", "Density events a slow subscriber never got because a newer reading of the same zone replaced them."),
		slow:      d("crowdrisk_slow_disconnects_total", "Subscribers disconnected because alerts piled up beyond their queue limit (they resume from their last id; nothing is dropped)."),
		resets:    d("crowdrisk_stream_resets_total", "Subscriptions whose Last-Event-ID could not be resumed and got a reset and a snapshot."),
		replayed:  d("crowdrisk_events_replayed_total", "Events sent from history to resuming subscribers."),
	}
}

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.published, c.delivered, c.conflated, c.slow, c.resets, c.replayed} {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.hub.Stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenDensity), string(event.TopicDensity))
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenAlerts), string(event.TopicAlerts))
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.published, s.Published)
	counter(c.delivered, s.Delivered)
	counter(c.conflated, s.Conflated)
	counter(c.slow, s.SlowDisconnects)
	counter(c.resets, s.Resets)
	counter(c.replayed, s.Replayed)
}
