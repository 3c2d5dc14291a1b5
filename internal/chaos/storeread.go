package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// storedEvent is a durable event of the alert stream as the store holds it.
type storedEvent struct {
	ID    event.ID
	Type  string
	Data  json.RawMessage // the message's data (alert, emergency mode or null)
	Order int             // position in commit order
}

type storedAlert struct {
	ID, Status, AckBy, Message string
}

type emergencyRow struct {
	Ended       bool
	Active      bool
	Reason      string
	ActivatedAt int64
}

// storeState is what the store holds at the end, read in one transaction.
type storeState struct {
	Backend   string
	Events    []storedEvent // alerts topic, in commit order
	Alerts    map[string]storedAlert
	Emergency []emergencyRow // oldest first
	Incidents int
	// CommitOrder says how Events are ordered: PostgreSQL's commit
	// timestamps (the campaign's server runs with track_commit_timestamp),
	// which is the real commit order, or SQLite's rowid, which is the event
	// id itself (so order proves nothing there). Physical order (ctid) would
	// not do: each backend fills its own cached page, so two connections'
	// rows interleave out of commit order.
	CommitOrder string
}

// readStore reads the store directly rather than through the API: the
// API lists at most 1,000 alerts, has no events endpoint, and would be
// the very code under test.
func readStore(ctx context.Context, driver, dsn string) (*storeState, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	opts := &sql.TxOptions{}
	st := &storeState{Backend: "sqlite", Alerts: map[string]storedAlert{}, CommitOrder: "rowid (= id)"}
	order := "rowid"
	if driver == "pgx" {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
		// Ties (one transaction, or two in the same microsecond) go by id,
		// so only a strictly later commit of an older id is reported.
		st.Backend, st.CommitOrder, order = "postgres", "commit order", "pg_xact_commit_timestamp(xmin), id"
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("read store: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT id, type, data FROM events WHERE topic = 'alerts' ORDER BY "+order)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	for rows.Next() {
		var id int64
		var typ string
		var data []byte
		if err := rows.Scan(&id, &typ, &data); err != nil {
			rows.Close()
			return nil, err
		}
		var w struct {
			Data json.RawMessage `json:"data"`
		}
		json.Unmarshal(data, &w)
		st.Events = append(st.Events, storedEvent{ID: event.ID(id), Type: typ, Data: w.Data, Order: len(st.Events)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, "SELECT id, status, acknowledged_by, message FROM alerts")
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	for rows.Next() {
		var a storedAlert
		if err := rows.Scan(&a.ID, &a.Status, &a.AckBy, &a.Message); err != nil {
			rows.Close()
			return nil, err
		}
		st.Alerts[a.ID] = a
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, "SELECT ended, active, reason, activated_at FROM emergency ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("read emergency: %w", err)
	}
	for rows.Next() {
		var e emergencyRow
		if err := rows.Scan(&e.Ended, &e.Active, &e.Reason, &e.ActivatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		st.Emergency = append(st.Emergency, e)
	}
	rows.Close()
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM incidents").Scan(&st.Incidents); err != nil {
		return nil, fmt.Errorf("read incidents: %w", err)
	}
	return st, nil
}
