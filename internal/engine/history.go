package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// The stored density history (issue 13). Every judged reading is recorded
// under the engine's lock, but only into memory: a point per zone and
// second (the worst of that second) and the minute's aggregates, never the
// store. A writer outside the lock takes what was
// recorded once a second and writes it in one transaction, so 40,000
// readings a second cost one commit a second, and a slow or failing store
// delays neither a reading nor an alert. What cannot be written (the store
// fails, or more waits than the bound) is dropped and counted: history is a
// chart, alerts are the engine's duty.

// HistoryOptions configure the stored density history. Zero values take
// the defaults.
type HistoryOptions struct {
	// Raw is how long the per-second points are kept: each zone's worst
	// judged reading of each second (default 1 h).
	Raw time.Duration
	// Keep is how long the one-minute aggregates are kept (default 720 h).
	Keep time.Duration
	// FlushEvery is how often what was recorded is written (default 1 s).
	FlushEvery time.Duration
	// PruneEvery is how often what is older than Raw and Keep is deleted
	// (default 1 min).
	PruneEvery time.Duration
	// MaxPending bounds the points waiting for the next write (default
	// 100,000; a zone adds at most one a second); beyond it new points
	// are dropped and counted. Minute aggregates and the latest readings
	// still take every reading.
	MaxPending int
}

// History defaults.
const (
	DefaultHistoryRaw  = time.Hour
	DefaultHistoryKeep = 30 * 24 * time.Hour
)

func (o HistoryOptions) withDefaults() HistoryOptions {
	if o.Raw <= 0 {
		o.Raw = DefaultHistoryRaw
	}
	if o.Keep <= 0 {
		o.Keep = DefaultHistoryKeep
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Second
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Minute
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100_000
	}
	return o
}

// HistoryObserver, when the Options' Observer also implements it, is told
// how many readings' points the history dropped (metrics).
type HistoryObserver interface {
	HistoryDropped(points int)
}

// historyWriteTimeout bounds one write: a hung store costs the history a
// few seconds of points, never the writer itself.
const historyWriteTimeout = 5 * time.Second

// historyWriter writes the buffer and prunes. Only the goroutine of
// runHistory uses it.
type historyWriter struct {
	opts    HistoryOptions
	store   store.HistoryStore
	buf     *historyBuffer
	log     *slog.Logger
	obs     HistoryObserver
	now     func() time.Time
	failing bool      // the last write failed (one log line each way)
	lost    int       // points lost since the writes started failing
	warned  time.Time // the last warning about the buffer's bound
}

// flush writes what was recorded. A failed write is dropped, not retried:
// the next second has its own points, and a store that is down must not
// make the buffer grow.
func (w *historyWriter) flush(ctx context.Context) {
	b, dropped := w.buf.take()
	if !b.Empty() {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), historyWriteTimeout)
		err := w.store.WriteHistory(wctx, b)
		cancel()
		switch {
		case fenced(err):
			// No longer the leader (a step-down's last second): the
			// successor writes from here on; not a store failure.
			dropped += len(b.Points)
		case err != nil:
			dropped += len(b.Points)
			if !w.failing {
				w.failing, w.lost = true, 0
				w.log.Error("density history not saved: readings are still judged and shown, their history is dropped until the store is back",
					"err", err)
			}
		case w.failing:
			w.failing = false
			w.log.Info("density history saved again", "droppedPoints", w.lost)
		}
	}
	if dropped == 0 {
		return
	}
	if w.obs != nil {
		w.obs.HistoryDropped(dropped)
	}
	if w.failing {
		w.lost += dropped
	} else if now := w.now(); now.Sub(w.warned) >= time.Minute {
		w.warned = now
		w.log.Warn("density history: more readings than the buffer holds; points dropped (aggregates kept)",
			"dropped", dropped, "maxPending", w.opts.MaxPending)
	}
}

func (w *historyWriter) prune(ctx context.Context) {
	now := w.now()
	err := w.store.PruneHistory(ctx, now.Add(-w.opts.Raw).UnixMilli(), now.Add(-w.opts.Keep).UnixMilli())
	if err != nil && ctx.Err() == nil {
		w.log.Warn("pruning the density history failed", "err", err)
	}
}

// runHistory writes the history once every FlushEvery and prunes it every
// PruneEvery until ctx ends, then writes what is left. It runs beside the
// engine's ticks (Run), so on several instances only the leader writes.
func (e *Engine) runHistory(ctx context.Context) {
	w := &historyWriter{opts: e.hopts, store: e.store, buf: e.hist, log: e.log, now: e.now}
	w.obs, _ = e.opts.Observer.(HistoryObserver)
	flush := time.NewTicker(e.hopts.FlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(e.hopts.PruneEvery)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			w.flush(ctx) // the last second of a graceful stop
			return
		case <-flush.C:
			w.flush(ctx)
		case <-prune.C:
			w.prune(ctx)
		}
	}
}

// restoreLatest puts each zone's last stored reading back, marked as no
// data: after a restart no sensor is known to be live, so a screen shows
// the last known values with their age, never a stale level as current,
// until the zone's next reading. (Left unmarked, the first tick would find
// the zone without a live sensor and log a "no data" incident for every
// zone at every restart.)
func (e *Engine) restoreLatest(ctx context.Context) ([]crowd.DensityReading, error) {
	stored, err := e.store.LatestReadings(ctx)
	if err != nil {
		return nil, err
	}
	out := asRestored(stored, e.venue)
	for _, r := range out {
		e.sent[r.ZoneID] = r
	}
	return out, nil
}

// asRestored keeps the readings of the venue's zones, marked as no data
// (see restoreLatest).
func asRestored(stored []crowd.DensityReading, v crowd.Venue) []crowd.DensityReading {
	known := map[string]bool{}
	for _, z := range v.Zones {
		known[z.ID] = true
	}
	out := []crowd.DensityReading{}
	for _, r := range stored {
		if !known[r.ZoneID] {
			continue
		}
		r.NoData, r.Sensors, r.Peak, r.Outlier = true, 0, nil, false
		out = append(out, r)
	}
	return out
}

// StoredDensityStateEvents is DensityStateEvents for an instance without an
// engine (a follower, see internal/cluster): each zone's last stored
// reading, marked as no data, as snapshot content for its hub. Readings it
// then follows from the shared stream replace them.
func StoredDensityStateEvents(ctx context.Context, s store.HistoryStore, v crowd.Venue) ([]*event.Event, error) {
	stored, err := s.LatestReadings(ctx)
	if err != nil {
		return nil, err
	}
	var out []*event.Event
	for _, r := range asRestored(stored, v) {
		out = append(out, densityEvent(0, r))
	}
	return out, nil
}

// DensityStateEvents returns the latest reading of every zone that has one
// as snapshot content (ids zero), for seeding a hub after a restart: a
// screen that connects before a zone's next reading sees its last known
// state with its age.
func (e *Engine) DensityStateEvents() []*event.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*event.Event
	for _, r := range e.monitor.Latest() {
		out = append(out, densityEvent(0, r))
	}
	return out
}
