package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

// commitLock serialises unfenced commits (one instance on its own database)
// as SQLite's single writer does: identity values (incident Seq) are then
// handed out in commit order, so a reader paging the incident log by Seq
// never skips an entry that a slower transaction commits later. Fenced
// commits (several instances) serialise on the fence row instead, which
// also checks the token (see fenceSQL).
const commitLock int64 = 0x63726f7764636d74

// fenceSQL raises the committed fence to the batch's token, or returns no
// row when a higher token has committed already: the deposed leader's
// transaction is then rolled back. The row lock it takes serialises the
// commits of every instance. A paused instance cannot hold it for long:
// lock_timeout and idle_in_transaction_session_timeout (poolConfig) end the
// wait and the paused session's transaction.
const fenceSQL = `INSERT INTO meta (key, value) VALUES ($1, $2)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value <= excluded.value
	RETURNING value`

var upsertAlert = sqlrow.UpsertAlert(sqlrow.Dollar)

// Commit applies the batch in one transaction, sent to the server as one
// pipelined round trip.
//
// A batch with events is idempotent: committing it again once it is stored
// changes nothing and succeeds. Its events are stored all or none, so when
// the second time fails on their ids because all of them are there, the
// batch is there. That lets a commit whose connection was lost during
// COMMIT run again, and lets the engine retry a batch whose first commit
// ended in an error after all (a deadline during COMMIT) without jamming on
// its own events. (Unless the events were pruned in between: then they are
// stored again, with the batch's alerts and incidents.)
func (s *Store) Commit(ctx context.Context, b store.Batch) error {
	if b.Empty() {
		return nil
	}
	q, err := batchQueries(b)
	if err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	err = s.inTx(ctx, len(b.Events) > 0, func(tx pgx.Tx) error {
		// A fresh copy for each try: pgx leaves a sent batch holding the
		// prepared statements of the connection it went out on.
		try := &pgx.Batch{}
		for _, qq := range q.QueuedQueries {
			try.Queue(qq.SQL, qq.Arguments...)
		}
		br := tx.SendBatch(ctx, try)
		if b.Fence != 0 {
			var kept int64
			if err := br.QueryRow().Scan(&kept); errors.Is(err, pgx.ErrNoRows) {
				br.Close()
				return store.ErrFenced
			} else if err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
	if errors.Is(err, store.ErrFenced) {
		return err
	}
	if err != nil && eventConflict(err) {
		if stored, serr := s.eventsStored(ctx, b.Events); serr == nil && stored {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// eventConflict reports an event id that is stored already.
func eventConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "events_pkey"
}

// eventsStored reports whether every one of evs is in the store.
func (s *Store) eventsStored(ctx context.Context, evs []store.StoredEvent) (bool, error) {
	ids := make([]int64, len(evs))
	for i, e := range evs {
		ids[i] = int64(e.ID)
	}
	var n int
	err := s.read(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT COUNT(*) FROM events WHERE id = ANY($1)", ids).Scan(&n)
	})
	return err == nil && n == len(ids), err
}

func batchQueries(b store.Batch) (*pgx.Batch, error) {
	if err := sqlrow.Validate(b); err != nil {
		return nil, err
	}
	q := &pgx.Batch{}
	if b.Fence != 0 {
		q.Queue(fenceSQL, sqlrow.FenceKey, b.Fence)
	} else {
		q.Queue("SELECT pg_advisory_xact_lock($1)", commitLock)
	}
	for _, st := range b.Sensors {
		q.Queue(sqlrow.UpsertSensor(sqlrow.Dollar), st.ZoneID, st.SensorID, st.LastSeen)
	}
	for _, c := range b.Counters {
		q.Queue(sqlrow.UpsertCounter(sqlrow.Dollar), c.ZoneID, c.Persons, c.Clamped, c.ResetAt)
	}
	for _, d := range b.Doors {
		q.Queue(sqlrow.UpsertDoor(sqlrow.Dollar), d.ZoneID, d.SensorID, d.Counted)
	}
	if b.Command != "" {
		q.Queue(`INSERT INTO commands (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, b.Command, time.Now().UnixMilli())
	}
	for _, a := range b.Alerts {
		q.Queue(upsertAlert, sqlrow.AlertArgs(a)...)
	}
	if b.SetEmergency {
		if m := b.Emergency; m == nil {
			q.Queue("INSERT INTO emergency (ended) VALUES (TRUE)")
		} else {
			zones := m.ZoneIDs
			if zones == nil {
				zones = []string{}
			}
			q.Queue(`INSERT INTO emergency (ended, active, reason, zone_ids, activated_at, activated_by)
				VALUES (FALSE, $1, $2, $3, $4, $5)`, m.Active, m.Reason, zones, m.ActivatedAt, m.ActivatedBy)
		}
	}
	for _, e := range b.Events {
		data := e.Data
		if data == nil {
			data = []byte{}
		}
		q.Queue("INSERT INTO events (id, topic, type, data, at) VALUES ($1, $2, $3, $4, $5)",
			int64(e.ID), string(e.Topic), e.Type, data, e.At.UnixMilli())
	}
	for _, in := range b.Incidents {
		q.Queue(`INSERT INTO incidents (ts, kind, zone_id, alert_id, level, actor, message)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, in.Timestamp, string(in.Kind), in.ZoneID, in.AlertID,
			sqlrow.IncidentLevel(in), in.Actor, in.Message)
	}
	if !b.Through.IsZero() {
		q.Queue(upsertMax, throughKey, int64(b.Through))
	}
	for _, g := range b.Lost {
		q.Queue(upsertMax, lostKey(g.After), int64(g.Before))
	}
	return q, nil
}

// Sensors lists the sensor registry.
func (s *Store) Sensors(ctx context.Context) ([]store.SensorState, error) {
	out, err := readRows(ctx, s, sqlrow.SensorsQuery, nil, sqlrow.ScanSensor)
	if err != nil {
		return nil, fmt.Errorf("postgres: sensors: %w", err)
	}
	return out, nil
}

// Counters lists the door-counter balances and doors, on one connection.
func (s *Store) Counters(ctx context.Context) ([]store.CounterState, []store.DoorState, error) {
	var cs []store.CounterState
	var ds []store.DoorState
	err := s.read(ctx, func(c *pgx.Conn) (err error) {
		if cs, err = scanRows(ctx, c, sqlrow.CountersQuery, nil, sqlrow.ScanCounter); err != nil {
			return err
		}
		ds, err = scanRows(ctx, c, sqlrow.DoorsQuery, nil, sqlrow.ScanDoor)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: counters: %w", err)
	}
	return cs, ds, nil
}

// CommandDone reports whether a batch with this command key committed.
func (s *Store) CommandDone(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.read(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT COUNT(*) FROM commands WHERE key = $1", key).Scan(&n)
	})
	if err != nil {
		return false, fmt.Errorf("postgres: command: %w", err)
	}
	return n > 0, nil
}

// upsertMax raises a meta counter (never lowers it).
const upsertMax = `INSERT INTO meta (key, value) VALUES ($1, $2)
	ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)`

// Emergency returns the newest emergency row, nil when it ended (or none).
func (s *Store) Emergency(ctx context.Context) (*crowd.EmergencyMode, error) {
	var (
		ended bool
		m     crowd.EmergencyMode
	)
	err := s.read(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT ended, active, reason, zone_ids, activated_at, activated_by
			FROM emergency ORDER BY seq DESC LIMIT 1`).Scan(&ended, &m.Active, &m.Reason, &m.ZoneIDs, &m.ActivatedAt, &m.ActivatedBy)
	})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ended) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: emergency: %w", err)
	}
	return &m, nil
}
