package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

var t0 = time.UnixMilli(1_764_270_000_000)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// recorder is the Publisher of the tests. For every durable event it checks,
// at the moment of publishing, that the store already has it: the engine
// must commit before it broadcasts.
type recorder struct {
	t     *testing.T
	store store.Store
	// uncommittedOK is set where the store is down on purpose.
	uncommittedOK bool
	mu            sync.Mutex
	events        []*event.Event
}

func (r *recorder) Publish(evs ...*event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range evs {
		if n := len(r.events); n > 0 && e.ID <= r.events[n-1].ID {
			r.t.Errorf("published out of order: %v after %v", e.ID, r.events[n-1].ID)
		}
		if e.Topic.Durable() && !r.uncommittedOK {
			got, _, err := r.store.EventsAfter(context.Background(), e.ID-1, e.ID, 1)
			if err != nil || len(got) != 1 {
				r.t.Errorf("event %v (%s) published before it was committed", e.ID, e.Type)
			}
		}
		r.events = append(r.events, e)
	}
}

func (r *recorder) ofType(typ string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, e := range r.events {
		if e.Type != typ {
			continue
		}
		var m struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(e.Data, &m); err != nil {
			r.t.Fatal(err)
		}
		out = append(out, m.Data)
	}
	return out
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.events) }

func testVenue() crowd.Venue {
	return crowd.Venue{Name: "test", Zones: []crowd.Zone{
		crowd.Zone{ID: "hall", Name: "Hall", Kind: crowd.Standing, AreaM2: 100, Capacity: 600}.WithDefaults(),
		crowd.Zone{ID: "ramp", Name: "Ramp", Kind: crowd.Moving, AreaM2: 50, Capacity: 200}.WithDefaults(),
	}}
}

type fixture struct {
	eng   *Engine
	store store.Store
	pub   *recorder
	clock *clock
	path  string
}

func open(t *testing.T, path string, c *clock, st store.Store) *fixture {
	t.Helper()
	return openWith(t, path, c, st, nil)
}

// openWith is open with the engine's options changed by mod (nil: none).
func openWith(t *testing.T, path string, c *clock, st store.Store, mod func(*Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	if st == nil {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
	}
	last, _ := st.LastEventID(ctx)
	pub := &recorder{t: t, store: st}
	o := Options{Venue: testVenue(), Store: st, Publisher: pub,
		Sequencer: event.NewSequencer(last, c.now), Now: c.now}
	if mod != nil {
		mod(&o)
	}
	eng, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{eng: eng, store: st, pub: pub, clock: c, path: path}
}

func newFixture(t *testing.T) *fixture {
	return open(t, filepath.Join(t.TempDir(), "crowdrisk.db"), &clock{t: t0}, nil)
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// feed sends one reading of zone per second at density d for n seconds.
func (f *fixture) feed(t *testing.T, zone string, d float64, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		f.clock.add(time.Second)
		ts := f.clock.now().UnixMilli()
		if _, err := f.eng.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: zone, Density: f64(d), Timestamp: &ts}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIngestRejectsBadBatchesWhole(t *testing.T) {
	f := newFixture(t)
	f.feed(t, "hall", 1, 1)
	latest := f.clock.now().UnixMilli()
	good := crowd.ReadingInput{ZoneID: "hall", Density: f64(1)}
	cnt := -3
	for _, tc := range []struct {
		name  string
		bad   crowd.ReadingInput
		field string
	}{
		{"unknown zone", crowd.ReadingInput{ZoneID: "nope", Density: f64(1)}, "[1].zoneId"},
		{"missing zone", crowd.ReadingInput{Density: f64(1)}, "[1].zoneId"},
		{"missing density", crowd.ReadingInput{ZoneID: "hall"}, "[1].density"},
		{"negative density", crowd.ReadingInput{ZoneID: "hall", Density: f64(-0.1)}, "[1].density"},
		{"impossible density", crowd.ReadingInput{ZoneID: "hall", Density: f64(50)}, "[1].density"},
		{"negative count", crowd.ReadingInput{ZoneID: "hall", Count: &cnt}, "[1].count"},
		{"both", crowd.ReadingInput{ZoneID: "hall", Density: f64(1), Count: new(int)}, "[1].density"},
		{"future", crowd.ReadingInput{ZoneID: "hall", Density: f64(1), Timestamp: i64(f.clock.now().Add(time.Hour).UnixMilli())}, "[1].timestamp"},
		{"older than latest", crowd.ReadingInput{ZoneID: "hall", Density: f64(1), Timestamp: i64(latest - 1)}, "[1].timestamp"},
		{"negative inflow", crowd.ReadingInput{ZoneID: "hall", Density: f64(1), InflowPerMin: f64(-1)}, "[1].inflowPerMin"},
	} {
		before := f.pub.count()
		_, err := f.eng.Ingest(context.Background(), []crowd.ReadingInput{good, tc.bad})
		var ce *crowd.Error
		if !errors.As(err, &ce) || ce.Code != crowd.ErrInvalid || ce.Field != tc.field {
			t.Errorf("%s: got %v, want invalid %s", tc.name, err, tc.field)
		}
		if f.pub.count() != before {
			t.Errorf("%s: part of a rejected batch was applied", tc.name)
		}
	}
	if got, _ := f.eng.monitor.LatestOf("hall"); got.Timestamp != latest {
		t.Fatal("the good half of a rejected batch reached the monitor")
	}
}

func TestCountBecomesDensityAndOrderWithinBatch(t *testing.T) {
	f := newFixture(t)
	n := 150
	ts1, ts2 := t0.Add(-2*time.Second).UnixMilli(), t0.Add(-time.Second).UnixMilli()
	out, err := f.eng.Ingest(context.Background(), []crowd.ReadingInput{
		{ZoneID: "hall", Count: &n, Timestamp: &ts1}, {ZoneID: "hall", Density: f64(1), Timestamp: &ts2}})
	if err != nil || out[0].Density != 1.5 {
		t.Fatalf("%v %+v", err, out)
	}
	_, err = f.eng.Ingest(context.Background(), []crowd.ReadingInput{
		{ZoneID: "ramp", Density: f64(1), Timestamp: &ts2}, {ZoneID: "ramp", Density: f64(1), Timestamp: &ts1}})
	if err == nil || !strings.Contains(err.Error(), "[1].timestamp") {
		t.Fatalf("out-of-order readings in one batch accepted: %v", err)
	}
}

func TestThresholdCrossingRaisesCommittedAlertAndEmergency(t *testing.T) {
	f := newFixture(t)
	f.feed(t, "ramp", 0.5, 15)
	f.feed(t, "ramp", 2.5, 60) // warning band of a moving zone, past the 30 s dwell
	alerts := f.pub.ofType(event.TypeAlert)
	if len(alerts) == 0 || alerts[len(alerts)-1]["level"] != "warning" {
		t.Fatalf("want a warning alert, got %v", alerts)
	}
	f.feed(t, "ramp", 4.5, 12) // emergency band: two readings suffice
	em := f.pub.ofType(event.TypeEmergency)
	if len(em) == 0 || em[0]["activatedBy"] != "engine" {
		t.Fatalf("emergency not activated by the engine: %v", em)
	}
	if m := f.eng.Emergency(); m == nil || m.ZoneIDs[0] != "ramp" {
		t.Fatalf("emergency %+v", m)
	}
	open, _ := f.eng.Alerts(context.Background(), store.AlertFilter{Open: true})
	if len(open) == 0 {
		t.Fatal("no open alerts in the store")
	}
	inc, _ := f.eng.Incidents(context.Background(), store.IncidentFilter{})
	var kinds []string
	for _, i := range inc {
		kinds = append(kinds, string(i.Kind))
	}
	if !strings.Contains(strings.Join(kinds, ","), "emergency") || !strings.Contains(strings.Join(kinds, ","), "level") {
		t.Fatalf("incident log %v", kinds)
	}
}

func TestRestartRestoresAlertsAndEmergency(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	path := filepath.Join(dir, "crowdrisk.db")
	s1, _ := sqlite.Open(context.Background(), path)
	f := open(t, path, c, s1)
	f.feed(t, "hall", 5.0, 40) // critical for a standing zone
	if _, err := f.eng.ActivateEmergency(context.Background(), "crush at gate", []string{"hall"}, "op1"); err != nil {
		t.Fatal(err)
	}
	before, _ := f.eng.Alerts(context.Background(), store.AlertFilter{Open: true})
	lastBefore := f.pub.events[len(f.pub.events)-1].ID
	s1.Close()

	g := open(t, path, c, nil)
	after := g.eng.monitor.OpenAlerts()
	if len(before) == 0 || len(after) != len(before) {
		t.Fatalf("open alerts before %d after %d", len(before), len(after))
	}
	if m := g.eng.Emergency(); m == nil || m.Reason != "crush at gate" || m.ActivatedBy != "op1" {
		t.Fatalf("emergency after restart %+v", m)
	}
	states := g.eng.StateEvents()
	if len(states) != len(after)+1 {
		t.Fatalf("state events %d", len(states))
	}
	// Acknowledging a restored alert works and continues the id sequence.
	a, err := g.eng.Acknowledge(context.Background(), after[0].ID, "op2")
	if err != nil || a.AcknowledgedBy != "op2" {
		t.Fatalf("%v %+v", err, a)
	}
	if g.pub.events[0].ID <= lastBefore {
		t.Fatal("ids restarted below the stored ones")
	}
}

func TestAcknowledgeErrorsAndIdempotence(t *testing.T) {
	f := newFixture(t)
	_, err := f.eng.Acknowledge(context.Background(), "nope", "op")
	if crowd.ErrorCode(err) != crowd.ErrNotFound {
		t.Fatalf("%v", err)
	}
	a, err := f.eng.TestAlert(context.Background(), "hall", crowd.Warning, "", "admin")
	if err != nil || a.Kind != crowd.KindTest || a.Status != crowd.StatusActive {
		t.Fatalf("%v %+v", err, a)
	}
	ack, err := f.eng.Acknowledge(context.Background(), a.ID, "op")
	if err != nil || ack.Status != crowd.StatusResolved || ack.AcknowledgedBy != "op" {
		t.Fatalf("a test alert resolves when acknowledged: %v %+v", err, ack)
	}
	stored, _ := f.store.Alert(context.Background(), a.ID)
	if stored.Status != crowd.StatusResolved {
		t.Fatalf("stored %+v", stored)
	}
	if _, err := f.eng.Acknowledge(context.Background(), a.ID, "op"); crowd.ErrorCode(err) != crowd.ErrConflict {
		t.Fatalf("acknowledging a resolved alert: %v", err)
	}
}

func TestEmergencyOperatorControls(t *testing.T) {
	f := newFixture(t)
	if _, err := f.eng.ActivateEmergency(context.Background(), "x", []string{"hall", "mars"}, "op"); err == nil || !strings.Contains(err.Error(), "zoneIds[1]") {
		t.Fatalf("unknown zone accepted: %v", err)
	}
	if f.eng.Emergency() != nil {
		t.Fatal("a rejected activation was half-applied")
	}
	if _, err := f.eng.ActivateEmergency(context.Background(), "  ", []string{"hall"}, "op"); crowd.ErrorCode(err) != crowd.ErrInvalid || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("a blank reason accepted: %v", err)
	}
	if f.eng.Emergency() != nil {
		t.Fatal("a rejected activation was half-applied")
	}
	m, err := f.eng.ActivateEmergency(context.Background(), "drill", []string{"hall"}, "op")
	if err != nil || !m.Active || m.ActivatedBy != "op" {
		t.Fatalf("%v %+v", err, m)
	}
	if err := f.eng.EndEmergency(context.Background(), "op2"); err != nil || f.eng.Emergency() != nil {
		t.Fatalf("end: %v", err)
	}
	em := f.pub.ofType(event.TypeEmergency)
	if len(em) != 2 || em[1] != nil {
		t.Fatalf("emergency events %v", em)
	}
	n := f.pub.count()
	if err := f.eng.EndEmergency(context.Background(), "op2"); err != nil || f.pub.count() != n {
		t.Fatal("ending no emergency must change nothing")
	}
}

func TestViolationHoldsZoneUntilRulesRaise(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.eng.TriggerViolation(context.Background(), "ramp", crowd.Critical, "admin"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		f.clock.add(time.Second)
		f.eng.tick(context.Background())
	}
	alerts := f.pub.ofType(event.TypeAlert)
	if len(alerts) == 0 || alerts[len(alerts)-1]["level"] != "critical" {
		t.Fatalf("violation raised no critical alert: %v", alerts)
	}
	if _, _, err := f.eng.TriggerViolation(context.Background(), "ramp", crowd.Normal, "admin"); crowd.ErrorCode(err) != crowd.ErrInvalid {
		t.Fatalf("level normal: %v", err)
	}
}

// failingStore refuses commits while down is set: the store being down
// must not silence an alert.
type failingStore struct {
	store.Store
	mu     sync.Mutex
	down   bool
	fenced bool
}

func (s *failingStore) Commit(ctx context.Context, b store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fenced {
		return fmt.Errorf("commit: %w", ErrFenced)
	}
	if s.down {
		return errors.New("disk full")
	}
	return s.Store.Commit(ctx, b)
}

func TestHistoryKeepsOnePerSecond(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 10; i++ {
		f.clock.add(300 * time.Millisecond)
		ts := f.clock.now().UnixMilli()
		f.eng.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "hall", Density: f64(1), Timestamp: &ts}})
	}
	h, err := f.eng.History("hall", time.Hour)
	if err != nil || len(h) < 3 || len(h) > 4 {
		t.Fatalf("%v: %d readings for 3 s", err, len(h))
	}
	if _, err := f.eng.History("nope", time.Minute); crowd.ErrorCode(err) != crowd.ErrNotFound {
		t.Fatal(err)
	}
}

func TestAcknowledgeAlertResolvedBeforeRestartIsConflict(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := &clock{t: t0}
	s1, _ := sqlite.Open(context.Background(), path)
	f := open(t, path, c, s1)
	a, _ := f.eng.TestAlert(context.Background(), "hall", crowd.Watch, "", "admin")
	if _, err := f.eng.Acknowledge(context.Background(), a.ID, "op"); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	g := open(t, path, c, nil)
	if _, err := g.eng.Acknowledge(context.Background(), a.ID, "op"); crowd.ErrorCode(err) != crowd.ErrConflict {
		t.Fatalf("acknowledging an alert resolved before the restart: %v", err)
	}
}

func TestOnlyChangedReadingsAreSent(t *testing.T) {
	f := newFixture(t)
	f.feed(t, "hall", 1.0, 2) // two readings: the smoothing believes them
	sent := len(f.pub.ofType(event.TypeDensity))
	f.feed(t, "hall", 1.0, 14) // the same judgement for 14 s: nothing new to send
	if got := len(f.pub.ofType(event.TypeDensity)); got != sent {
		t.Fatalf("unchanged readings were sent: %d then %d", sent, got)
	}
	f.feed(t, "hall", 1.0, 1) // 15 s after the last one sent: sent again, so screens see the sensor is alive
	if got := len(f.pub.ofType(event.TypeDensity)); got != sent+1 {
		t.Fatalf("no refresh after 15 s: %d", got)
	}
	f.feed(t, "hall", 1.2, 1)
	if got := len(f.pub.ofType(event.TypeDensity)); got != sent+2 {
		t.Fatalf("a changed reading was not sent: %d", got)
	}
	if h, _ := f.eng.History("hall", time.Hour); len(h) != 18 {
		t.Fatalf("history must keep every second whether sent or not: %d", len(h))
	}
}

// TestFencedEnginePublishesNothing: an engine that lost the right to
// evaluate (another instance took over) must not show screens a change the
// store refused.
func TestFencedEnginePublishesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, _ := sqlite.Open(context.Background(), path)
	t.Cleanup(func() { s.Close() })
	fs := &failingStore{Store: s, fenced: true}
	c := &clock{t: t0}
	pub := &recorder{t: t, store: s}
	eng, err := New(context.Background(), Options{Venue: testVenue(), Store: fs, Publisher: pub, Sequencer: event.NewSequencer(0, c.now), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.TestAlert(context.Background(), "hall", crowd.Critical, "", "admin"); !errors.Is(err, ErrFenced) {
		t.Fatalf("want ErrFenced, got %v", err)
	}
	if pub.count() != 0 || eng.Ready(context.Background()) != nil {
		t.Fatalf("a fenced step was published (%d events) or queued", pub.count())
	}
}

// TestReadingFromTheFutureLocksNothingOut: a sensor clock a minute ahead
// (within the skew) is judged at its arrival, so the next reading, stamped
// or not, is in order.
func TestReadingFromTheFutureLocksNothingOut(t *testing.T) {
	f := newFixture(t)
	now := f.clock.now()
	ahead := now.Add(time.Minute).UnixMilli() // within the allowed skew
	out, err := f.eng.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "hall", Density: f64(1), Timestamp: &ahead}})
	if err != nil || out[0].Timestamp != now.UnixMilli() {
		t.Fatalf("a reading from the future: %v %+v", err, out)
	}
	f.clock.add(time.Second)
	honest := f.clock.now().UnixMilli()
	if out, err = f.eng.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "hall", Density: f64(1.1), Timestamp: &honest}}); err != nil || out[0].Timestamp != honest {
		t.Fatalf("an honest reading after a future one: %v %+v", err, out)
	}
	if out, err = f.eng.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "hall", Density: f64(1.1)}}); err != nil || out[0].Timestamp != honest {
		t.Fatalf("an unstamped reading: %v %+v", err, out)
	}
}

func TestAlertsOfRemovedZonesAreResolvedOnStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := &clock{t: t0}
	s1, _ := sqlite.Open(context.Background(), path)
	f := open(t, path, c, s1)
	a, _ := f.eng.TestAlert(context.Background(), "ramp", crowd.Warning, "", "admin")
	s1.Close()

	s2, _ := sqlite.Open(context.Background(), path)
	t.Cleanup(func() { s2.Close() })
	v := testVenue()
	v.Zones = v.Zones[:1] // the ramp is gone from the venue file
	last, _ := s2.LastEventID(context.Background())
	if _, err := New(context.Background(), Options{Venue: v, Store: s2, Publisher: &recorder{t: t, store: s2},
		Sequencer: event.NewSequencer(last, c.now), Now: c.now}); err != nil {
		t.Fatal(err)
	}
	got, _ := s2.Alert(context.Background(), a.ID)
	if got.Status != crowd.StatusResolved {
		t.Fatalf("alert of a removed zone left %s", got.Status)
	}
}

func TestActivatingAgainWithNothingNewChangesNothing(t *testing.T) {
	f := newFixture(t)
	if _, err := f.eng.ActivateEmergency(context.Background(), "crush", []string{"hall"}, "op"); err != nil {
		t.Fatal(err)
	}
	n := f.pub.count()
	if m, err := f.eng.ActivateEmergency(context.Background(), "crush", []string{"hall"}, "op2"); err != nil || m.ActivatedBy != "op" || f.pub.count() != n {
		t.Fatalf("second press: %v %+v, %d events", err, m, f.pub.count()-n)
	}
}
