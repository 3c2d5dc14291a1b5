package hub

import "sync/atomic"

// counters are updated on the hot path with atomics and read by /metrics.
type counters struct {
	published       atomic.Int64
	delivered       atomic.Int64
	conflated       atomic.Int64
	slowDisconnects atomic.Int64
	resets          atomic.Int64
	replayed        atomic.Int64
	open            [2]atomic.Int64 // by topic: density, alerts
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Published       int64 // events accepted by Publish
	Delivered       int64 // event deliveries written to clients
	Conflated       int64 // density events replaced by a newer one for a slow subscriber
	SlowDisconnects int64 // subscribers disconnected for a full queue
	Resets          int64 // subscriptions whose last id could not be resumed
	Replayed        int64 // events sent from history on resume
	OpenDensity     int64 // subscribers of the density topic
	OpenAlerts      int64 // subscribers of the alerts topic
}

// Stats returns the current counters.
func (h *Hub) Stats() Stats {
	c := &h.stats
	return Stats{
		Published:       c.published.Load(),
		Delivered:       c.delivered.Load(),
		Conflated:       c.conflated.Load(),
		SlowDisconnects: c.slowDisconnects.Load(),
		Resets:          c.resets.Load(),
		Replayed:        c.replayed.Load(),
		OpenDensity:     c.open[0].Load(),
		OpenAlerts:      c.open[1].Load(),
	}
}

// CountDelivered is called by writers after n events reached a client.
func (h *Hub) CountDelivered(n int) { h.stats.delivered.Add(int64(n)) }
