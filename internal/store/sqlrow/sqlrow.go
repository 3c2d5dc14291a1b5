// Package sqlrow is what the SQL backends (sqlite, postgres) share: how an
// alert or an incident maps to a row (column order, arguments, scanning),
// the queries of the filters, and the checks a batch passes before it is
// written. Only the placeholders differ between the dialects, so each
// builder takes the backend's.
package sqlrow

import (
	"strconv"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Placeholder renders the n-th (1-based) bind parameter of a statement.
type Placeholder func(n int) string

// Question is SQLite's placeholder.
func Question(int) string { return "?" }

// Dollar is PostgreSQL's placeholder.
func Dollar(n int) string { return "$" + strconv.Itoa(n) }

// Default limits of the listing queries.
const (
	DefaultAlertLimit    = 1000
	DefaultIncidentLimit = 10000
)

// query collects a statement's conditions and their arguments.
type query struct {
	ph    Placeholder
	where []string
	args  []any
}

// arg binds v and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return q.ph(len(q.args))
}

func (q *query) whereClause() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

func validLevel(l crowd.Level) bool { return l >= crowd.Normal && l <= crowd.Emergency }

// Validate refuses what could not be read back: an alert or event without
// an id, an unknown level or status.
func Validate(b store.Batch) error {
	for _, a := range b.Alerts {
		if a.ID == "" {
			return crowd.Invalidf("alerts.id", "an alert needs an id")
		}
		if !validLevel(a.Level) || !a.Status.Valid() {
			return crowd.Invalidf("alerts", "alert %s has level %v and status %q", a.ID, a.Level, a.Status)
		}
	}
	for _, e := range b.Events {
		if e.ID.IsZero() {
			return crowd.Invalidf("events.id", "an event needs an id")
		}
	}
	for _, in := range b.Incidents {
		if in.Level != nil && !validLevel(*in.Level) {
			return crowd.Invalidf("incidents.level", "unknown level %v", *in.Level)
		}
	}
	for _, c := range b.Counters {
		if c.ZoneID == "" || c.Persons < 0 || c.Clamped < 0 {
			return crowd.Invalidf("counters", "zone %q: %d persons, %d clamped: a balance is never below zero", c.ZoneID, c.Persons, c.Clamped)
		}
	}
	return nil
}

// FenceKey is the meta row that holds the highest lease token committed
// (store.Batch.Fence).
const FenceKey = "fence"

// UpsertSensor records a sensor's last_seen (never moving it back: a
// late-committed older batch must not make a live sensor look silent).
func UpsertSensor(ph Placeholder) string {
	return "INSERT INTO sensors (zone_id, sensor_id, last_seen) VALUES (" + ph(1) + ", " + ph(2) + ", " + ph(3) +
		") ON CONFLICT (zone_id, sensor_id) DO UPDATE SET last_seen = excluded.last_seen WHERE sensors.last_seen < excluded.last_seen"
}

// SensorsQuery lists the sensor registry in a stable order.
const SensorsQuery = "SELECT zone_id, sensor_id, last_seen FROM sensors ORDER BY zone_id, sensor_id"

// UpsertCounter replaces a zone's door-counter balance (batches commit in
// order, so the latest is the one to keep).
func UpsertCounter(ph Placeholder) string {
	return "INSERT INTO counters (zone_id, persons, clamped, reset_at) VALUES (" + ph(1) + ", " + ph(2) + ", " + ph(3) + ", " + ph(4) +
		") ON CONFLICT (zone_id) DO UPDATE SET persons = excluded.persons, clamped = excluded.clamped, reset_at = excluded.reset_at"
}

// UpsertDoor records a door's last counted report (never moving it back:
// an older mark would let a resent report be counted twice).
func UpsertDoor(ph Placeholder) string {
	return "INSERT INTO counter_doors (zone_id, sensor_id, counted) VALUES (" + ph(1) + ", " + ph(2) + ", " + ph(3) +
		") ON CONFLICT (zone_id, sensor_id) DO UPDATE SET counted = excluded.counted WHERE counter_doors.counted < excluded.counted"
}

// CountersQuery and DoorsQuery list them in a stable order.
const (
	CountersQuery = "SELECT zone_id, persons, clamped, reset_at FROM counters ORDER BY zone_id"
	DoorsQuery    = "SELECT zone_id, sensor_id, counted FROM counter_doors ORDER BY zone_id, sensor_id"
)

// ScanSensor, ScanCounter and ScanDoor read a row of SensorsQuery,
// CountersQuery and DoorsQuery, for both backends' row loops.
func ScanSensor(scan func(...any) error) (st store.SensorState, err error) {
	err = scan(&st.ZoneID, &st.SensorID, &st.LastSeen)
	return st, err
}

func ScanCounter(scan func(...any) error) (c store.CounterState, err error) {
	err = scan(&c.ZoneID, &c.Persons, &c.Clamped, &c.ResetAt)
	return c, err
}

func ScanDoor(scan func(...any) error) (d store.DoorState, err error) {
	err = scan(&d.ZoneID, &d.SensorID, &d.Counted)
	return d, err
}
