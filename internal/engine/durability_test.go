package engine

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// logBuffer collects an engine's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// fullDisk is an engine on a SQLite file in a small tmpfs, with the filler
// that fills it: a real "database or disk is full".
type fullDisk struct {
	*fixture
	dir  string
	logs *logBuffer
	fill func() (free func())
}

func newFullDisk(t *testing.T) *fullDisk {
	dir := testenv.Tmpfs(t, 4<<20)
	path := filepath.Join(dir, "crowdrisk.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &clock{t: t0}
	logs := &logBuffer{}
	pub := &recorder{t: t, store: s, uncommittedOK: true}
	eng, err := New(context.Background(), Options{Venue: testVenue(), Store: s, Publisher: pub,
		Sequencer: event.NewSequencer(0, c.now), Now: c.now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{eng: eng, store: s, pub: pub, clock: c, path: path}
	return &fullDisk{fixture: f, dir: dir, logs: logs, fill: func() func() { return testenv.Fill(t, dir) }}
}

// raiseWarning feeds the ramp into its warning band past the dwell: an
// alert the engine raises by itself.
func (f *fixture) raiseWarning(t *testing.T) {
	t.Helper()
	f.feed(t, "ramp", 0.5, 15)
	f.feed(t, "ramp", 2.5, 45)
}

func lastStore(t *testing.T, r *recorder) map[string]any {
	t.Helper()
	st := r.ofType(TypeStore)
	if len(st) == 0 {
		t.Fatal("no store event published")
	}
	return st[len(st)-1]
}

// TestFullDiskShowsAlertsQueuesAndDrainsOnTick: with the disk full, an alert
// the rules raise is shown at once; its commit waits; /readyz names the
// cause; the outbox is retried on every tick, with one log line for the
// outage and one for the recovery; freed space drains it without any
// request (no /readyz poll), in order.
func TestFullDiskShowsAlertsQueuesAndDrainsOnTick(t *testing.T) {
	f := newFullDisk(t)
	free := f.fill()
	f.raiseWarning(t)
	alerts := f.pub.ofType(event.TypeAlert)
	if len(alerts) == 0 {
		t.Fatal("the alert was not shown while the disk was full")
	}
	id := alerts[0]["id"].(string)
	if _, err := f.store.Alert(context.Background(), id); crowd.ErrorCode(err) != crowd.ErrNotFound {
		t.Fatalf("alert stored on a full disk? %v", err)
	}
	err := f.eng.Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "store: disk full since") || !strings.Contains(err.Error(), "batches waiting") {
		t.Fatalf("readyz error = %v", err)
	}
	if st := lastStore(t, f.pub); st["ok"] != false || st["reason"] != "disk full" {
		t.Fatalf("store event %v", st)
	}
	for range 5 {
		f.clock.add(time.Second)
		f.eng.tick(context.Background())
	}
	if n := f.logs.count("store failing"); n != 1 {
		t.Fatalf("%d 'store failing' log lines for one outage; want 1:\n%s", n, f.logs.b.String())
	}
	free()
	f.clock.add(time.Second)
	f.eng.tick(context.Background())
	if got, err := f.store.Alert(context.Background(), id); err != nil || got.ID != id {
		t.Fatalf("the tick did not drain the outbox: %v", err)
	}
	if st := f.eng.StoreStatus(); !st.OK || st.Waiting != 0 {
		t.Fatalf("status after recovery %+v", st)
	}
	if st := lastStore(t, f.pub); st["ok"] != true {
		t.Fatalf("no recovery event: %v", st)
	}
	if n := f.logs.count("store recovered"); n != 1 {
		t.Fatalf("%d recovery lines; want 1", n)
	}
	if err := f.eng.Ready(context.Background()); err != nil {
		t.Fatalf("not ready after recovery: %v", err)
	}
	// Every published alert event is in the store, in order.
	var want []event.ID
	for _, e := range f.pub.events {
		if e.Topic.Durable() && e.Type != TypeStore {
			want = append(want, e.ID)
		}
	}
	stored, _, _ := f.store.EventsAfter(context.Background(), 0, 0, 0)
	if len(stored) != len(want) {
		t.Fatalf("stored %d events, published %d", len(stored), len(want))
	}
	for i := range want {
		if stored[i].ID != want[i] {
			t.Fatalf("stored event %d is %v; want %v", i, stored[i].ID, want[i])
		}
	}
}

// TestOperatorCommandsOnAFullDiskAre503AndChangeNothing: a 2xx means
// committed; on a full disk every operator command is refused as
// unavailable, and neither the monitor, the emergency mode, the zone
// overrides nor any screen sees a change. Once space is back they work.
func TestOperatorCommandsOnAFullDiskAre503AndChangeNothing(t *testing.T) {
	f := newFullDisk(t)
	ctx := context.Background()
	a, err := f.eng.TestAlert(ctx, "hall", crowd.Critical, "drill", "admin")
	if err != nil {
		t.Fatal(err)
	}
	f.raiseWarning(t)
	open := f.eng.monitor.OpenAlerts()
	var rule crowd.Alert
	for _, o := range open {
		if o.Kind != crowd.KindTest {
			rule = o
		}
	}
	if rule.ID == "" {
		t.Fatalf("no rule alert among %v", open)
	}
	if _, err := f.eng.ActivateEmergency(ctx, "drill", []string{"hall"}, "op"); err != nil {
		t.Fatal(err)
	}
	free := f.fill()
	published := f.pub.count()

	unavailable := func(what string, err error) {
		t.Helper()
		if crowd.ErrorCode(err) != crowd.ErrUnavailable || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("%s on a full disk: %v; want unavailable naming the disk", what, err)
		}
	}
	_, err = f.eng.Acknowledge(ctx, a.ID, "op")
	unavailable("acknowledge (test alert)", err)
	_, err = f.eng.Acknowledge(ctx, rule.ID, "op")
	unavailable("acknowledge", err)
	err = f.eng.EndEmergency(ctx, "op")
	unavailable("end emergency", err)
	_, err = f.eng.ActivateEmergency(ctx, "more", []string{"ramp"}, "op")
	unavailable("activate emergency", err)
	_, err = f.eng.TestAlert(ctx, "ramp", crowd.Warning, "", "admin")
	unavailable("test alert", err)
	_, _, err = f.eng.TriggerViolation(ctx, "ramp", crowd.Critical, "admin")
	unavailable("violation", err)
	_, _, err = f.eng.TriggerBreach(ctx, "ramp", crowd.Critical, "admin")
	unavailable("breach", err)

	if after := f.eng.monitor.OpenAlerts(); len(after) != len(open) {
		t.Fatalf("open alerts %d before, %d after the refused commands", len(open), len(after))
	} else {
		for i := range after {
			if after[i].Status != crowd.StatusActive {
				t.Fatalf("alert %s is %s after a refused acknowledgement", after[i].ID, after[i].Status)
			}
		}
	}
	if m := f.eng.Emergency(); m == nil || len(m.ZoneIDs) != 1 || m.Reason != "drill" {
		t.Fatalf("emergency changed by refused commands: %+v", m)
	}
	if len(f.eng.overrides) != 0 {
		t.Fatal("a refused violation holds a zone")
	}
	for _, e := range f.pub.events[published:] {
		if e.Type != TypeStore {
			t.Fatalf("a refused command published %s", e.Type)
		}
	}

	free()
	f.clock.add(time.Second)
	if got, err := f.eng.Acknowledge(ctx, rule.ID, "op"); err != nil || got.Status == crowd.StatusActive {
		t.Fatalf("acknowledge after recovery: %v %+v", err, got)
	}
	if stored, _ := f.store.Alert(ctx, rule.ID); stored.AcknowledgedBy != "op" {
		t.Fatalf("acknowledgement not stored: %+v", stored)
	}
	if err := f.eng.EndEmergency(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.store.Emergency(ctx); m != nil {
		t.Fatalf("end of emergency not stored: %+v", m)
	}
}

// TestResumeWhileBatchesWaitIncludesThem: the hub's durable replay must not
// report a range as covered while part of it waits in the outbox.
func TestResumeWhileBatchesWaitIncludesThem(t *testing.T) {
	f := newFullDisk(t)
	f.feed(t, "ramp", 0.5, 2)
	before := f.pub.events[len(f.pub.events)-1].ID
	free := f.fill()
	defer free()
	f.raiseWarning(t)
	var queued []event.ID
	for _, e := range f.pub.events {
		if e.Type == event.TypeAlert {
			queued = append(queued, e.ID)
		}
	}
	evs, covered, err := f.eng.EventsAfter(context.Background(), before, 0, 100)
	if err != nil || !covered {
		t.Fatalf("replay: covered=%v err=%v", covered, err)
	}
	var got []event.ID
	for _, e := range evs {
		got = append(got, e.ID)
	}
	if len(queued) == 0 || len(got) < len(queued) || got[len(got)-len(queued)] != queued[0] {
		t.Fatalf("replay %v misses the waiting alert events %v", got, queued)
	}
}

// TestRestartAfterLostCommitsResetsResumes: a process that died with
// alerts shown but not stored (the disk was full) leaves a gap; the next
// one records it, and the store refuses to vouch for a resume from inside
// it, while a resume from before it still replays.
func TestRestartAfterLostCommitsResetsResumes(t *testing.T) {
	f := newFullDisk(t)
	f.feed(t, "ramp", 0.5, 2)
	f.clock.add(time.Second)
	f.eng.tick(context.Background()) // writes the Through mark
	before := f.pub.events[len(f.pub.events)-1].ID
	free := f.fill()
	f.raiseWarning(t)
	seen := f.pub.events[len(f.pub.events)-1].ID
	// The process dies here: the outbox is gone with it.
	free()
	f.store.Close()

	s2, err := sqlite.Open(context.Background(), f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	last, _ := s2.LastEventID(context.Background())
	floor := max(last, event.NewID(f.clock.now().Add(time.Second).UnixMilli(), 0))
	if _, err := New(context.Background(), Options{Venue: testVenue(), Store: s2, Publisher: &recorder{t: t, store: s2},
		Sequencer: event.NewSequencer(floor, f.clock.now), Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	if _, covered, _ := s2.EventsAfter(context.Background(), seen, floor, 0); covered {
		t.Fatal("a client that saw lost alerts is told it missed nothing")
	}
	if _, covered, _ := s2.EventsAfter(context.Background(), before, floor, 0); !covered {
		t.Fatal("a client from before the loss is reset needlessly")
	}
}

func TestOutboxBound(t *testing.T) {
	var o outbox
	id := event.ID(1000)
	batch := func(events, incidents int) store.Batch {
		var b store.Batch
		for range events {
			id++
			b.Events = append(b.Events, store.StoredEvent{ID: id, Topic: event.TopicAlerts})
		}
		b.Incidents = make([]crowd.Incident, incidents)
		b.Alerts = []crowd.Alert{{ID: "al_1", UpdatedAt: int64(id)}}
		return b
	}
	for range maxOutboxBatches + 10 {
		if o.push(batch(1, 1)) {
			t.Fatal("dropped below the bound")
		}
	}
	if o.len() != maxOutboxBatches || o.events != maxOutboxBatches+10 {
		t.Fatalf("batches %d events %d", o.len(), o.events)
	}
	last := o.batches[o.len()-1]
	if len(last.Alerts) != 1 || last.Alerts[0].UpdatedAt != int64(id) || len(last.Events) != 11 {
		t.Fatalf("merged batch: %d alerts (latest %d), %d events", len(last.Alerts), last.Alerts[0].UpdatedAt, len(last.Events))
	}
	if !o.push(batch(maxOutboxEvents, maxOutboxIncidents)) {
		t.Fatal("nothing dropped past the bound")
	}
	if o.events != maxOutboxEvents || o.incidents != maxOutboxIncidents || o.droppedEvents != maxOutboxBatches+10 {
		t.Fatalf("events %d incidents %d dropped %d", o.events, o.incidents, o.droppedEvents)
	}
	lost := o.batches[0].Lost
	if len(lost) != 1 || !lost[0].Contains(1001) || !lost[0].Contains(event.ID(1000+maxOutboxBatches+10)) {
		t.Fatalf("no gap recorded for the dropped events: %v", lost)
	}
	if _, covered := o.pending(1001, 0); covered {
		t.Fatal("a replay across dropped events is covered")
	}
}

// TestGracefulStopLeavesNoGap: after a clean shutdown (Run's context ends)
// the store vouches for every id handed out, so no client is reset.
func TestGracefulStopLeavesNoGap(t *testing.T) {
	f := newFixture(t)
	f.feed(t, "ramp", 0.5, 3) // density only: no commit, no mark yet
	last := f.pub.events[len(f.pub.events)-1].ID
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.eng.Run(ctx)
	if got, _ := f.store.LastEventID(context.Background()); got < last {
		t.Fatalf("mark %v after a clean stop; the last id handed out was %v", got, last)
	}
}

// TestUnreadableStoreResetsInsteadOfFailing: with the database file
// corrupted, a resume that needs the store is answered "not covered" (a
// reset and a snapshot from memory, the current state), not an error that
// would keep the screen from connecting.
func TestUnreadableStoreResetsInsteadOfFailing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 50 {
		if _, err := f.eng.TestAlert(ctx, "hall", crowd.Warning, strings.Repeat("drill ", 40), "admin"); err != nil {
			t.Fatal(err)
		}
	}
	f.store.Close() // checkpoint into the main file, then reopen on it
	s, err := sqlite.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.eng.store = s
	orig, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), orig...)
	for i := 4096; i < len(bad); i++ {
		bad[i] = byte(i * 7)
	}
	if err := os.WriteFile(f.path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	f.pub.mu.Lock()
	f.pub.uncommittedOK = true // the "store" event says it is failing
	f.pub.mu.Unlock()
	evs, covered, err := f.eng.EventsAfter(ctx, 1, 0, 100)
	if err != nil || covered {
		t.Fatalf("replay from a corrupted store: %d events, covered=%v, err=%v; want a reset", len(evs), covered, err)
	}
	if err := f.eng.Ready(ctx); err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("readyz with a corrupted file: %v", err)
	}
}

// TestInvalidBatchDoesNotBlockTheOutbox: a batch the store refuses for its
// content (a bug upstream) would fail every retry and hold every later
// commit, and every operator command, behind it: it is dropped, loudly.
func TestInvalidBatchDoesNotBlockTheOutbox(t *testing.T) {
	f := newFixture(t)
	f.eng.mu.Lock()
	f.eng.box.push(store.Batch{Alerts: []crowd.Alert{{ID: ""}}})
	f.eng.mu.Unlock()
	f.eng.tick(context.Background())
	if st := f.eng.StoreStatus(); st.Waiting != 0 || !st.OK {
		t.Fatalf("status after the invalid batch: %+v", st)
	}
	if _, err := f.eng.ActivateEmergency(context.Background(), "drill", nil, "op"); err != nil {
		t.Fatalf("an operator command behind the invalid batch: %v", err)
	}
}

// TestAcknowledgeIsOneChange: the acknowledgement is committed before the
// monitor hears of it; for a test alert (acknowledging resolves it) that is
// still one event and one acknowledge and one resolve line in the log.
func TestAcknowledgeIsOneChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.eng.TestAlert(ctx, "hall", crowd.Warning, "", "admin")
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.pub.ofType(event.TypeAlert))
	got, err := f.eng.Acknowledge(ctx, a.ID, "op")
	if err != nil || got.Status != crowd.StatusResolved {
		t.Fatalf("%v %+v", err, got)
	}
	if evs := f.pub.ofType(event.TypeAlert); len(evs) != n+1 || evs[n]["status"] != "resolved" {
		t.Fatalf("acknowledging a test alert published %v", evs[n:])
	}
	inc, _ := f.store.Incidents(ctx, store.IncidentFilter{})
	kinds := map[crowd.IncidentKind]int{}
	for _, in := range inc {
		if in.AlertID == a.ID {
			kinds[in.Kind]++
		}
	}
	if kinds[crowd.IncidentAcknowledge] != 1 || kinds[crowd.IncidentResolve] != 1 {
		t.Fatalf("incident lines of the alert: %v", kinds)
	}
}
