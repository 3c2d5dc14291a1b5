package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// StoreObserver, when the Options' Observer also implements it, is told how
// the store fares (metrics). Calls happen with the engine's lock held.
type StoreObserver interface {
	// StoreCommitFailed counts one commit the store refused.
	StoreCommitFailed()
	// StoreState reports the state after every commit, retry and check.
	StoreState(degraded bool, waiting int)
}

// StoreStatus is the store's health as the engine sees it: what /readyz
// reports and what the "store" event of the alert stream carries (the
// dashboard's banner).
type StoreStatus struct {
	OK bool `json:"ok"`
	// Since is when it started failing (ms since the epoch; 0 when OK).
	Since int64 `json:"since,omitempty"`
	// Reason is short and human: "disk full", "database file deleted".
	Reason string `json:"reason,omitempty"`
	// Waiting is how many batches wait in the outbox.
	Waiting int `json:"waiting"`
	// DroppedEvents and DroppedIncidents count what the outbox bound
	// dropped during this outage.
	DroppedEvents    int `json:"droppedEvents,omitempty"`
	DroppedIncidents int `json:"droppedIncidents,omitempty"`
}

// Err is the /readyz message of a failing store, nil when it is OK.
func (s StoreStatus) Err() error {
	if s.OK {
		return nil
	}
	msg := fmt.Sprintf("store: %s since %s, %d batches waiting", s.Reason,
		time.UnixMilli(s.Since).UTC().Format("15:04:05"), s.Waiting)
	if s.DroppedEvents+s.DroppedIncidents > 0 {
		msg += fmt.Sprintf(" (%d events and %d incident-log lines dropped at the bound)", s.DroppedEvents, s.DroppedIncidents)
	}
	return errors.New(msg)
}

// health is the engine's record of the store, guarded by e.mu.
type health struct {
	down     bool
	since    time.Time
	reason   string
	lastFail time.Time // newest failure, so an older ping cannot undo it
	noticed  bool      // a "store" event waits to be published
	dropLog  bool      // the bound's drop was logged in this outage
	lastPing time.Time
	through  event.ID // the Through last written by a tick
	marked   time.Time
}

// pingEvery is how often a tick checks the store when nothing else does:
// a deleted or corrupted file is noticed within it even with no commits.
const pingEvery = 5 * time.Second

// markEvery bounds how often an idle engine writes its Through mark (one
// small transaction), so a restart after a quiet spell resets few clients.
const markEvery = 5 * time.Second

// retryTimeout bounds a tick's retry of the outbox: the engine's lock is
// held meanwhile, and a hung store must not stall every stream for long.
const retryTimeout = 2 * time.Second

// StoreStatus returns the store's health.
func (e *Engine) StoreStatus() StoreStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.statusLocked()
}

func (e *Engine) statusLocked() StoreStatus {
	st := StoreStatus{OK: !e.health.down, Waiting: e.box.len(),
		DroppedEvents: e.box.droppedEvents, DroppedIncidents: e.box.droppedIncidents}
	if e.health.down {
		st.Since, st.Reason = e.health.since.UnixMilli(), e.health.reason
	}
	return st
}

// storeFailedLocked records a failure of the store. Only the change from
// healthy to failing is logged (and published): a store that stays down
// fails on every tick, and one line per failure would bury the cause.
func (e *Engine) storeFailedLocked(err error, commit bool) {
	now := e.now()
	e.health.lastFail = now
	if commit {
		if o, ok := e.opts.Observer.(StoreObserver); ok {
			o.StoreCommitFailed()
		}
	}
	reason := reasonOf(err)
	if !e.health.down {
		e.health.down, e.health.since, e.health.reason, e.health.noticed = true, now, reason, true
		e.log.Error("store failing: alerts are still shown live, their commits wait in order; operator commands get 503 until it is back",
			"reason", reason, "err", err, "waiting", e.box.len())
	} else if reason != e.health.reason {
		// A new cause (disk full, then the file deleted) is worth showing,
		// but it is the same outage: no second log line.
		e.health.reason, e.health.noticed = reason, true
	}
	e.reportStoreLocked()
}

// storeOKLocked records a successful commit or check that started at
// started. The store is back only when nothing waits any more.
func (e *Engine) storeOKLocked(started time.Time) {
	if e.health.down && e.box.len() == 0 && !started.Before(e.health.lastFail) {
		e.log.Info("store recovered: every waiting batch is committed",
			"downFor", e.now().Sub(e.health.since).Round(time.Second).String(), "reason", e.health.reason,
			"droppedEvents", e.box.droppedEvents, "droppedIncidents", e.box.droppedIncidents)
		e.health.down, e.health.reason, e.health.noticed, e.health.dropLog = false, "", true, false
		e.box.droppedEvents, e.box.droppedIncidents = 0, 0
	}
	e.reportStoreLocked()
}

func (e *Engine) reportStoreLocked() {
	if o, ok := e.opts.Observer.(StoreObserver); ok {
		o.StoreState(e.health.down, e.box.len())
	}
}

// enqueueLocked puts a refused batch in the outbox, loudly when the bound
// drops something.
func (e *Engine) enqueueLocked(b store.Batch) {
	if e.box.push(b) && !e.health.dropLog {
		e.health.dropLog = true
		e.log.Error("store outbox at its bound: dropping the oldest waiting events and incident-log lines (alerts' latest state and emergency mode are kept)",
			"droppedEvents", e.box.droppedEvents, "droppedIncidents", e.box.droppedIncidents, "waiting", e.box.len())
	}
	e.reportStoreLocked()
}

// flushOutboxLocked retries waiting batches, oldest first, and stops at the
// first refusal so the order holds.
func (e *Engine) flushOutboxLocked(ctx context.Context) {
	for e.box.len() > 0 {
		started := e.now()
		if err := e.store.Commit(ctx, e.box.batches[0]); refused(err) {
			e.log.Error("the store refused a waiting batch as invalid; it is dropped, not retried (a bug upstream)", "err", err)
		} else if err != nil {
			e.storeFailedLocked(err, true)
			return
		}
		e.box.pop()
		e.storeOKLocked(started)
	}
}

// noticeLocked publishes a "store" event when the health changed, after the
// events of the step that changed it (ids stay increasing). It is state, so
// a screen that connects later gets it in its snapshot until the store is
// back; it is not stored (it says the store is failing).
func (e *Engine) noticeLocked() {
	if !e.health.noticed {
		return
	}
	e.health.noticed = false
	st := e.statusLocked()
	ev := &event.Event{ID: e.seq.Next(), Topic: event.TopicAlerts, Type: TypeStore, StateKey: "store",
		StateDrop: st.OK, Data: message(TypeStore, st), At: e.now()}
	e.pub.Publish(ev)
}

// TypeStore is the type of the alert stream's store-health message.
const TypeStore = "store"

// Ready reports whether the store is committing and nothing waits (for
// /readyz). It does not retry the outbox itself (every tick does): a load
// balancer polling a hung store must not hold the engine's lock.
func (e *Engine) Ready(ctx context.Context) error {
	e.mu.Lock()
	st := e.statusLocked()
	e.mu.Unlock()
	if st.Waiting > 0 {
		return st.Err()
	}
	return e.checkStore(ctx)
}

// checkStore pings the store (outside the engine's lock: a check may read
// the file) and records the result.
func (e *Engine) checkStore(ctx context.Context) error {
	started := e.now()
	err := e.store.Ping(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.health.lastPing = started
	if err != nil {
		e.storeFailedLocked(err, false)
	} else {
		e.storeOKLocked(started)
	}
	e.noticeLocked()
	return e.statusLocked().Err()
}

// retryLocked is a tick's store work: retry the outbox, and when it is
// empty and the engine has moved on, write the Through mark.
func (e *Engine) retryLocked(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), retryTimeout)
	defer cancel()
	e.flushOutboxLocked(cctx)
	last := e.seq.Last()
	now := e.now()
	if e.box.len() == 0 && !e.health.down && last > e.health.through && now.Sub(e.health.marked) >= markEvery {
		started := now
		if err := e.store.Commit(cctx, store.Batch{Through: last}); err != nil {
			if !errors.Is(err, ErrFenced) {
				e.storeFailedLocked(err, true)
			}
		} else {
			e.health.through, e.health.marked = last, now
			e.storeOKLocked(started)
		}
	}
	e.noticeLocked()
}

// markLast writes the Through mark now, if everything is committed.
func (e *Engine) markLast(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.health.marked = time.Time{}
	e.retryLocked(ctx)
}

// reasonOf turns a store error into the few words a banner can show. The
// whole error goes to the log.
func reasonOf(err error) string {
	msg := strings.ToLower(err.Error())
	for _, r := range []struct{ substr, reason string }{
		{"deleted", "database file deleted"},
		{"replaced", "database file replaced"},
		{"disk is full", "disk full"},
		{"no space left", "disk full"},
		{"file too large", "disk full (file size limit)"},
		{"readonly", "read-only"},
		{"read-only", "read-only"},
		{"malformed", "database corrupted"},
		{"corrupt", "database corrupted"},
		{"not a database", "database corrupted"},
		{"i/o error", "disk I/O error"},
		{"deadline exceeded", "store not answering"},
		{"connection refused", "store unreachable"},
	} {
		if strings.Contains(msg, r.substr) {
			return r.reason
		}
	}
	if len(msg) > 120 {
		return err.Error()[:120] + "…"
	}
	return err.Error()
}
