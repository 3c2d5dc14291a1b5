package store

import (
	"context"
	"errors"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
)

// WebhookQueue is the persisted side of outgoing notifications
// (internal/notify). Both backends implement it next to Store, in the same
// database, so a queued notification survives a restart and, with several
// instances, is delivered by whichever instance leads.
//
// The notifier reads committed alert events (EventsAfter) behind a cursor
// and turns them into deliveries; WebhookAdvance moves the cursor and adds
// the deliveries in one transaction, so an event is turned into
// notifications exactly once, and never before the change it carries was
// committed.
type WebhookQueue interface {
	// WebhookCursor is the id of the last event turned into deliveries;
	// ok is false before the first WebhookAdvance.
	WebhookCursor(ctx context.Context) (id event.ID, ok bool, err error)
	// WebhookAdvance applies a in one transaction. It fails with
	// ErrWebhookCursorMoved, changing nothing, when the cursor is not at
	// a.From (another instance advanced it: it leads now).
	WebhookAdvance(ctx context.Context, a WebhookAdvance) (dropped map[string]int, err error)
	// WebhookAlerts lists the alert states the notifier keeps.
	WebhookAlerts(ctx context.Context) ([]WebhookAlert, error)
	// WebhookDue returns, oldest first, the head (lowest Seq) of each
	// ordering key of a receiver, when that head is due at now (ms): the
	// next delivery of an alert waits until the one before it is done.
	WebhookDue(ctx context.Context, receiver string, now int64, limit int) ([]WebhookDelivery, error)
	// WebhookDone removes a delivery (delivered, or given up).
	WebhookDone(ctx context.Context, seq int64) error
	// WebhookRetry records a failed attempt and when to try again.
	WebhookRetry(ctx context.Context, seq int64, attempts int, nextAt int64, lastError string) error
	// WebhookStats counts the undelivered deliveries per receiver.
	WebhookStats(ctx context.Context) ([]WebhookStat, error)
	// WebhookForget deletes the deliveries of receivers not in keep (a
	// receiver removed from the configuration) and returns how many.
	WebhookForget(ctx context.Context, keep []string) (int, error)
}

// ErrWebhookCursorMoved: see WebhookQueue.WebhookAdvance.
var ErrWebhookCursorMoved = errors.New("store: the webhook cursor moved (another instance notifies)")

// WebhookAdvance is one step of the notifier.
type WebhookAdvance struct {
	// From must be the current cursor (0 when there is none yet); To is
	// the new one (equal to From for a step that reads no event).
	From, To   event.ID
	Alerts     []WebhookAlert // upserted by AlertID
	Forget     []string       // alert ids whose state is dropped (resolved)
	Deliveries []WebhookDelivery
	// MaxPerReceiver bounds each receiver's queue: beyond it the oldest
	// deliveries of that receiver are deleted (and counted in dropped).
	// Every payload carries the whole alert, so the newer ones left still
	// say where each alert stands. 0: no bound.
	MaxPerReceiver int
}

// WebhookAlert is what the notifier remembers of an open alert, to tell
// which change an event carries and when to escalate it.
type WebhookAlert struct {
	AlertID       string
	Level         crowd.Level
	Status        crowd.AlertStatus
	Muted         bool
	Notifications int
	// LevelSince is when (ms, the engine's clock) the alert reached Level.
	LevelSince int64
	// Escalated is the highest level escalated, -1 when none.
	Escalated crowd.Level
}

// WebhookDelivery is one notification to one receiver.
type WebhookDelivery struct {
	Seq       int64 // store order, set by the store
	ID        string
	Receiver  string
	Key       string // ordering key: deliveries of one key go out in Seq order
	Payload   []byte
	CreatedAt int64 // ms
	Attempts  int
	NextAt    int64 // ms
	LastError string
}

// WebhookStat is one receiver's backlog.
type WebhookStat struct {
	Receiver        string
	Pending         int
	OldestCreatedAt int64 // ms; 0 when nothing is pending
}
