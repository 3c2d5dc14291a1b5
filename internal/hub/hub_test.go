package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// testClock is a fake clock for age-bounded history.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

type fixture struct {
	hub   *Hub
	clock *testClock
	seq   uint64
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{clock: &testClock{t: time.UnixMilli(1_764_270_000_000)}}
	opts.Now = f.clock.now
	f.hub = New(opts)
	t.Cleanup(f.hub.Close)
	return f
}

func (f *fixture) nextID() event.ID {
	f.seq++
	return event.NewID(1_764_270_000_000, f.seq)
}

func (f *fixture) density(zone string, v int) *event.Event {
	return &event.Event{ID: f.nextID(), Topic: event.TopicDensity, Type: event.TypeDensity,
		Key: zone, StateKey: "zone:" + zone, Data: []byte(fmt.Sprintf(`{"zone":%q,"v":%d}`, zone, v))}
}

func (f *fixture) alert(id string, resolved bool) *event.Event {
	return &event.Event{ID: f.nextID(), Topic: event.TopicAlerts, Type: event.TypeAlert,
		StateKey: "alert:" + id, StateDrop: resolved, Data: []byte(fmt.Sprintf(`{"alert":%q}`, id))}
}

func ids(evs []*event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Data)
	}
	return out
}

func take(t *testing.T, s *Subscriber) []*event.Event {
	t.Helper()
	var b Batch
	select {
	case <-s.Ready():
	default:
		return nil
	}
	s.Take(&b)
	return append([]*event.Event(nil), b.Events...)
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func TestFreshSubscriberGetsSnapshotThenLive(t *testing.T) {
	f := newFixture(t, Options{})
	f.hub.Publish(f.density("a", 1), f.density("b", 1), f.density("a", 2), f.alert("x", false), f.alert("y", false), f.alert("x", true))
	s, st, err := f.hub.Subscribe(context.Background(), []event.Topic{event.TopicDensity, event.TopicAlerts}, "c1", "")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "snapshot", ids(st.Snapshot), []string{`{"zone":"b","v":1}`, `{"zone":"a","v":2}`, `{"alert":"y"}`})
	if len(st.Replay) != 0 || st.Resumed || len(st.Reset) != 0 {
		t.Fatalf("fresh start: %+v", st)
	}
	if st.Checkpoint != f.hub.Last() {
		t.Fatalf("checkpoint %v, want %v", st.Checkpoint, f.hub.Last())
	}
	f.hub.Publish(f.density("b", 2))
	equal(t, "live", ids(take(t, s)), []string{`{"zone":"b","v":2}`})
}

func TestTopicFilter(t *testing.T) {
	f := newFixture(t, Options{})
	s, _, _ := f.hub.Subscribe(context.Background(), []event.Topic{event.TopicAlerts}, "c", "")
	f.hub.Publish(f.density("a", 1), f.alert("x", false))
	equal(t, "alerts only", ids(take(t, s)), []string{`{"alert":"x"}`})
}

func TestResumeReplaysMissedEventsWithoutGapOrDuplicate(t *testing.T) {
	f := newFixture(t, Options{})
	f.hub.Publish(f.density("a", 1), f.alert("x", false))
	last := f.hub.Last()
	f.hub.Publish(f.density("a", 2), f.alert("y", false))
	s, st, err := f.hub.Subscribe(context.Background(), event.Topics, "c", last.String())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Resumed || len(st.Snapshot) != 0 {
		t.Fatalf("want a clean resume: %+v", st)
	}
	equal(t, "replay", ids(st.Replay), []string{`{"zone":"a","v":2}`, `{"alert":"y"}`})
	if st.Checkpoint != 0 {
		t.Fatalf("replay ends at the cut, no checkpoint needed; got %v", st.Checkpoint)
	}
	f.hub.Publish(f.alert("z", false))
	equal(t, "live after replay", ids(take(t, s)), []string{`{"alert":"z"}`})
}

func TestResumeAtHeadNeedsNothing(t *testing.T) {
	f := newFixture(t, Options{})
	f.hub.Publish(f.alert("x", false))
	_, st, _ := f.hub.Subscribe(context.Background(), event.Topics, "c", f.hub.Last().String())
	if !st.Resumed || len(st.Replay) != 0 || len(st.Snapshot) != 0 || st.Checkpoint != 0 {
		t.Fatalf("resume at head: %+v", st)
	}
}

func TestUnknownOrFutureIDGetsResetAndSnapshot(t *testing.T) {
	for _, last := range []string{"garbage", "99999999999999-0", "-1"} {
		f := newFixture(t, Options{})
		f.hub.Publish(f.density("a", 1), f.alert("x", false))
		_, st, err := f.hub.Subscribe(context.Background(), event.Topics, "c", last)
		if err != nil {
			t.Fatal(err)
		}
		if st.Resumed || st.Reason != ReasonUnknownID || len(st.Reset) != 2 {
			t.Fatalf("%q: want reset of both topics, got %+v", last, st)
		}
		equal(t, "snapshot", ids(st.Snapshot), []string{`{"zone":"a","v":1}`, `{"alert":"x"}`})
		if st.Checkpoint != f.hub.Last() {
			t.Fatalf("checkpoint %v", st.Checkpoint)
		}
	}
}

func TestIDOlderThanHistoryResetsNonDurableTopics(t *testing.T) {
	f := newFixture(t, Options{HistorySize: 3})
	f.hub.Publish(f.density("a", 1))
	old := f.hub.Last()
	f.hub.Publish(f.density("a", 2), f.density("a", 3), f.density("b", 1), f.density("a", 4))
	_, st, _ := f.hub.Subscribe(context.Background(), []event.Topic{event.TopicDensity}, "c", old.String())
	if st.Reason != ReasonTooOld || len(st.Reset) != 1 || st.Reset[0] != event.TopicDensity {
		t.Fatalf("want density reset, got %+v", st)
	}
	equal(t, "snapshot", ids(st.Snapshot), []string{`{"zone":"b","v":1}`, `{"zone":"a","v":4}`})
}

func TestHistoryAgeBound(t *testing.T) {
	f := newFixture(t, Options{HistoryAge: time.Minute})
	f.hub.Publish(f.density("a", 1))
	old := f.hub.Last()
	f.hub.Publish(f.density("a", 2))
	f.clock.t = f.clock.t.Add(2 * time.Minute)
	f.hub.Publish(f.density("a", 3))
	if n := f.hub.hist.len(); n != 1 {
		t.Fatalf("history holds %d events, want 1 after expiry", n)
	}
	_, st, _ := f.hub.Subscribe(context.Background(), []event.Topic{event.TopicDensity}, "c", old.String())
	if st.Resumed {
		t.Fatal("an expired position must not be resumed")
	}
}

// storeReplay is an in-memory Durable with an optional pruning horizon.
type storeReplay struct {
	events []*event.Event
	pruned event.ID
}

func (r *storeReplay) EventsAfter(_ context.Context, after, upTo event.ID, limit int) ([]*event.Event, bool, error) {
	var out []*event.Event
	for _, e := range r.events {
		if e.ID > after && e.ID <= upTo && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, after >= r.pruned, nil
}

func TestRestartReplaysAlertsFromStoreAndResetsDensity(t *testing.T) {
	// Before the restart: events 1..4 were published and the alerts stored.
	before := newFixture(t, Options{})
	d1, a1 := before.density("a", 1), before.alert("x", false)
	before.density("a", 2) // published, never stored: lost with the restart
	a2 := before.alert("y", false)
	durable := &storeReplay{events: []*event.Event{a1, a2}}
	// After: a new hub whose floor is the store's last id, then new events.
	f := newFixture(t, Options{Floor: a2.ID, Durable: durable})
	f.seq = before.seq
	a3 := f.alert("z", false)
	durable.events = append(durable.events, a3)
	f.hub.Publish(f.density("a", 3), a3)
	_, st, err := f.hub.Subscribe(context.Background(), event.Topics, "c", d1.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "replay", ids(st.Replay), []string{`{"alert":"x"}`, `{"alert":"y"}`, `{"alert":"z"}`})
	if len(st.Reset) != 1 || st.Reset[0] != event.TopicDensity {
		t.Fatalf("density must be reset after a restart: %+v", st)
	}
	equal(t, "density snapshot", ids(st.Snapshot), []string{`{"zone":"a","v":3}`})
}

func TestPrunedStoreResetsAlerts(t *testing.T) {
	durable := &storeReplay{pruned: event.NewID(1_764_270_000_000, 5)}
	f := newFixture(t, Options{Floor: event.NewID(1_764_270_000_000, 9), Durable: durable})
	f.seq = 9
	f.hub.Publish(f.alert("x", false))
	_, st, _ := f.hub.Subscribe(context.Background(), []event.Topic{event.TopicAlerts}, "c", event.NewID(1_764_270_000_000, 2).String())
	if len(st.Reset) != 1 || st.Reset[0] != event.TopicAlerts || st.Reason != ReasonTooOld {
		t.Fatalf("want alerts reset: %+v", st)
	}
	equal(t, "snapshot", ids(st.Snapshot), []string{`{"alert":"x"}`})
}

func TestSlowSubscriberConflatesDensityAndIsCutForAlerts(t *testing.T) {
	f := newFixture(t, Options{QueueLimit: 3})
	slow, _, _ := f.hub.Subscribe(context.Background(), event.Topics, "slow", "")
	fast, _, _ := f.hub.Subscribe(context.Background(), event.Topics, "fast", "")
	for i := 1; i <= 100; i++ {
		f.hub.Publish(f.density("a", i), f.density("b", i))
		take(t, fast)
	}
	equal(t, "conflated", ids(take(t, slow)), []string{`{"zone":"a","v":100}`, `{"zone":"b","v":100}`})
	if got := f.hub.Stats().Conflated; got != 198 {
		t.Fatalf("conflated count %d, want 198", got)
	}
	for i := 0; i < 4; i++ {
		f.hub.Publish(f.alert(fmt.Sprint("x", i), false))
		take(t, fast)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("a subscriber over its alert queue limit must be disconnected, not silently dropped")
	}
	if slow.Err() != ErrSlow {
		t.Fatalf("err %v", slow.Err())
	}
	if st := f.hub.Stats(); st.SlowDisconnects != 1 || st.OpenAlerts != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConflationKeepsIDOrder(t *testing.T) {
	f := newFixture(t, Options{})
	s, _, _ := f.hub.Subscribe(context.Background(), event.Topics, "c", "")
	f.hub.Publish(f.density("a", 1), f.alert("x", false), f.density("a", 2))
	got := take(t, s)
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID {
			t.Fatalf("ids out of order: %v", ids(got))
		}
	}
	equal(t, "order", ids(got), []string{`{"alert":"x"}`, `{"zone":"a","v":2}`})
}

func TestCompactionBoundsQueue(t *testing.T) {
	f := newFixture(t, Options{})
	s, _, _ := f.hub.Subscribe(context.Background(), event.Topics, "c", "")
	for i := 0; i < 10000; i++ {
		f.hub.Publish(f.density("a", i))
	}
	s.mu.Lock()
	n := len(s.pending)
	s.mu.Unlock()
	if n > 200 {
		t.Fatalf("pending grew to %d entries for one zone", n)
	}
}

func TestOutOfOrderPublishIsDropped(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.density("a", 1)
	b := f.density("a", 2)
	f.hub.Publish(b)
	f.hub.Publish(a)
	if f.hub.Last() != b.ID || f.hub.Stats().Published != 1 {
		t.Fatal("an event older than the last published must be dropped")
	}
}

func TestHeartbeatAndClose(t *testing.T) {
	f := newFixture(t, Options{})
	s, _, _ := f.hub.Subscribe(context.Background(), event.Topics, "c", "")
	f.hub.Heartbeat()
	<-s.Ready()
	var b Batch
	if !s.Take(&b) || !b.Heartbeat {
		t.Fatal("heartbeat not delivered")
	}
	f.hub.Close()
	<-s.Done()
	if s.Err() != ErrClosed {
		t.Fatal(s.Err())
	}
	if _, _, err := f.hub.Subscribe(context.Background(), event.Topics, "c", ""); err != ErrClosed {
		t.Fatalf("subscribe after close: %v", err)
	}
}

// TestConcurrentPublishSubscribe checks under -race that a subscriber that
// joins while events flow sees, across its start and its live queue, every
// event after its start position exactly once and in order.
func TestConcurrentPublishSubscribe(t *testing.T) {
	f := newFixture(t, Options{HistorySize: 100000})
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			e := f.alert("x", false)
			f.hub.Publish(e)
			mu.Unlock()
		}
	}()
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond)
		from := f.hub.Last()
		s, st, err := f.hub.Subscribe(context.Background(), []event.Topic{event.TopicAlerts}, "c", from.String())
		if err != nil {
			t.Fatal(err)
		}
		seen := append([]*event.Event(nil), st.Replay...)
		time.Sleep(time.Millisecond)
		var b Batch
		select {
		case <-s.Ready():
			s.Take(&b)
			seen = append(seen, b.Events...)
		default:
		}
		f.hub.Unsubscribe(s)
		prev := from
		for _, e := range seen {
			if e.ID <= prev {
				t.Fatalf("duplicate or out of order: %v after %v", e.ID, prev)
			}
			if e.ID.Seq() != prev.Seq()+1 {
				t.Fatalf("gap: %v after %v", e.ID, prev)
			}
			prev = e.ID
		}
	}
	close(stop)
	wg.Wait()
}

// TestConflationWithManyZones crosses the queue length at which keys are
// indexed: a lagging subscriber of 50 zones still keeps exactly the newest
// reading of each, in publication order.
func TestConflationWithManyZones(t *testing.T) {
	f := newFixture(t, Options{})
	s, _, _ := f.hub.Subscribe(context.Background(), event.Topics, "c", "")
	for round := 1; round <= 3; round++ {
		for z := 0; z < 50; z++ {
			f.hub.Publish(f.density(fmt.Sprint("z", z), round))
		}
	}
	got := ids(take(t, s))
	if len(got) != 50 {
		t.Fatalf("%d pending, want one per zone", len(got))
	}
	for z, d := range got {
		if want := fmt.Sprintf(`{"zone":"z%d","v":3}`, z); d != want {
			t.Fatalf("zone %d: %s, want %s", z, d, want)
		}
	}
	// Caught up, the next round conflates by scanning again.
	f.hub.Publish(f.density("z1", 4), f.density("z1", 5))
	if got := ids(take(t, s)); len(got) != 1 || got[0] != `{"zone":"z1","v":5}` {
		t.Fatalf("after catching up: %v", got)
	}
}
