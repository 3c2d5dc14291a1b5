package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
	"github.com/crowdrisk/crowdrisk/internal/redisbus"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/postgres"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Lease timings shortened so that a takeover test takes a second, not four.
const (
	testTTL   = 900 * time.Millisecond
	testRenew = 200 * time.Millisecond
)

func testVenue() crowd.Venue {
	return crowd.Venue{Name: "test", Zones: []crowd.Zone{
		crowd.Zone{ID: "hall", Name: "Hall", Kind: crowd.Standing, AreaM2: 100, Capacity: 600}.WithDefaults(),
		crowd.Zone{ID: "ramp", Name: "Ramp", Kind: crowd.Moving, AreaM2: 50, Capacity: 200}.WithDefaults(),
	}}
}

// instance is one in-process node with its own hub and Redis connection,
// sharing Redis and PostgreSQL with the others, as separate processes do.
type instance struct {
	node *Node
	hub  *hub.Hub
	stop context.CancelFunc
	done chan struct{}
	rdb  interface{ Close() error }
}

func newInstance(t *testing.T, name, redisURL, pgURL string) *instance {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rdb, err := redisbus.Open(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	keys := redisbus.NewKeys("test:")
	last, _ := st.LastEventID(ctx)
	start := StartPosition(ctx, redisbus.NewLog(rdb, keys, 0), last, time.Now(), 15*time.Minute)
	h := hub.New(hub.Options{Floor: start})
	states, err := StateEvents(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	h.Seed(states...)
	n, err := New(ctx, Options{Redis: rdb, Keys: keys, Store: st, Hub: h, Start: start, Venue: testVenue(),
		Name: name, LeaseTTL: testTTL, RenewEvery: testRenew, ForwardTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	in := &instance{node: n, hub: h, stop: cancel, done: make(chan struct{}), rdb: rdb}
	go func() { defer close(in.done); n.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-in.done; h.Close() })
	return in
}

func cluster3(t *testing.T) []*instance {
	r := testenv.Redis(t)
	pg := testenv.Postgres(t)
	return []*instance{
		newInstance(t, "one", r.URL(), pg), newInstance(t, "two", r.URL(), pg), newInstance(t, "three", r.URL(), pg),
	}
}

// leader waits until exactly one live instance leads and returns it.
func leader(t *testing.T, ins []*instance, within time.Duration) *instance {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var leaders []*instance
		for _, in := range ins {
			if in.node.Role() == RoleLeader {
				leaders = append(leaders, in)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%d leaders at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no leader within %s", within)
	return nil
}

// collector records what a hub subscriber receives.
type collector struct {
	mu     sync.Mutex
	events []*event.Event
}

func subscribe(t *testing.T, h *hub.Hub, topics ...event.Topic) *collector {
	t.Helper()
	s, st, err := h.Subscribe(context.Background(), topics, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{events: st.Replay}
	go func() {
		var b hub.Batch
		for {
			select {
			case <-s.Ready():
			case <-s.Done():
				return
			}
			live := s.Take(&b)
			c.mu.Lock()
			c.events = append(c.events, b.Events...)
			c.mu.Unlock()
			if !live {
				return
			}
		}
	}()
	return c
}

func (c *collector) waitFor(t *testing.T, within time.Duration, cond func([]*event.Event) bool) []*event.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c.mu.Lock()
		evs := append([]*event.Event(nil), c.events...)
		c.mu.Unlock()
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s; %d events", within, len(evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alertIDs(t *testing.T, evs []*event.Event) []string {
	var ids []string
	for _, e := range evs {
		if e.Type != event.TypeAlert {
			continue
		}
		var m struct{ Data crowd.Alert }
		if err := json.Unmarshal(e.Data, &m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Data.ID)
	}
	return ids
}

func f64(v float64) *float64 { return &v }

func TestReadingOnAFollowerReachesEveryInstanceWithTheSameID(t *testing.T) {
	ins := cluster3(t)
	lead := leader(t, ins, 5*time.Second)
	var follower *instance
	for _, in := range ins {
		if in != lead {
			follower = in
		}
	}
	subs := make([]*collector, len(ins))
	for i, in := range ins {
		subs[i] = subscribe(t, in.hub, event.TopicDensity)
	}
	out, err := follower.node.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "hall", Density: f64(1.5)}})
	if err != nil || len(out) != 1 || out[0].Density != 1.5 {
		t.Fatalf("ingest on a follower: %v %+v", err, out)
	}
	// Read-your-writes on the follower that took the reading.
	if l := follower.node.Latest(); len(l) != 1 || l[0].ZoneID != "hall" {
		t.Fatalf("follower's latest right after its write: %+v", l)
	}
	var ids []event.ID
	for i, c := range subs {
		evs := c.waitFor(t, 5*time.Second, func(evs []*event.Event) bool { return len(evs) >= 1 })
		if evs[0].Type != event.TypeDensity || evs[0].Key != "hall" {
			t.Fatalf("instance %d got %+v", i, evs[0])
		}
		ids = append(ids, evs[0].ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("the same event has different ids: %v", ids)
	}
	// Validation errors come back from the leader as they are.
	_, err = follower.node.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "nope", Density: f64(1)}})
	if crowd.ErrorCode(err) != crowd.ErrInvalid {
		t.Fatalf("invalid reading through a follower: %v", err)
	}
}

// The leader loses Redis (as a crashed or partitioned instance does): it
// stops evaluating before its lease can expire, another takes over within
// the TTL and a renew, restores the open alerts and continues the ids; a
// subscriber sees every alert once.
func TestTakeoverHandsEvaluationOverWithEveryAlertOnce(t *testing.T) {
	ins := cluster3(t)
	lead := leader(t, ins, 5*time.Second)
	var others []*instance
	for _, in := range ins {
		if in != lead {
			others = append(others, in)
		}
	}
	watch := subscribe(t, others[0].hub, event.TopicAlerts)
	ctx := context.Background()
	first, err := others[1].node.TestAlert(ctx, "hall", crowd.Warning, "before", "op")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := others[1].node.ActivateEmergency(ctx, "drill", []string{"ramp"}, "op"); err != nil {
		t.Fatal(err)
	}
	if m := others[1].node.Emergency(); m == nil || m.Reason != "drill" {
		t.Fatalf("follower's emergency right after activating it: %+v", m)
	}

	killed := time.Now()
	lead.rdb.Close() // the leader can no longer reach Redis
	next := leader(t, others, testTTL+3*testRenew+2*time.Second)
	took := time.Since(killed)
	if took > testTTL+3*testRenew {
		t.Errorf("takeover took %s, promised %s", took, testTTL+3*testRenew)
	}
	if lead.node.Role() == RoleLeader {
		t.Fatal("the old leader still evaluates without Redis")
	}
	if m := next.node.Emergency(); m == nil || m.Reason != "drill" {
		t.Fatalf("new leader lost the emergency: %+v", m)
	}
	// Acknowledging an alert raised by the old leader works on the new one.
	if a, err := others[0].node.Acknowledge(ctx, first.ID, "op2"); err != nil || a.AcknowledgedBy != "op2" {
		t.Fatalf("acknowledge after takeover: %v %+v", err, a)
	}
	second, err := others[0].node.TestAlert(ctx, "ramp", crowd.Watch, "after", "op")
	if err != nil {
		t.Fatal(err)
	}
	evs := watch.waitFor(t, 5*time.Second, func(evs []*event.Event) bool {
		ids := alertIDs(t, evs)
		return len(ids) > 0 && ids[len(ids)-1] == second.ID
	})
	count := map[string]int{}
	for i, e := range evs {
		if i > 0 && e.ID <= evs[i-1].ID {
			t.Fatalf("ids not increasing across the takeover: %v then %v", evs[i-1].ID, e.ID)
		}
	}
	for _, id := range alertIDs(t, evs) {
		count[id]++
	}
	// first: raised, then acknowledged (a test alert resolves); second: raised.
	if count[first.ID] != 2 || count[second.ID] != 1 {
		t.Fatalf("alert events per alert: %v", count)
	}
	stored, _ := next.node.Alerts(ctx, store.AlertFilter{})
	if len(stored) != 2 {
		t.Fatalf("store has %d alerts, want 2", len(stored))
	}
}

// Readings queued while no instance leads are applied by the next leader.
func TestReadingsQueuedDuringTakeoverAreApplied(t *testing.T) {
	ins := cluster3(t)
	lead := leader(t, ins, 5*time.Second)
	var others []*instance
	for _, in := range ins {
		if in != lead {
			others = append(others, in)
		}
	}
	lead.rdb.Close()
	// Right away, before anyone took over: the reading waits in the queue.
	ts := time.Now().UnixMilli()
	_, err := others[0].node.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "ramp", Density: f64(0.7), Timestamp: &ts}})
	if err != nil {
		t.Logf("ingest during the takeover answered %v (it stays queued)", err)
	}
	leader(t, others, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := others[1].node.Latest()
		if len(l) == 1 && l[0].Timestamp == ts {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queued reading never arrived: %+v", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCommittedEventsMissingFromTheStreamAreRepublished: a leader that
// committed an alert and lost Redis before appending it leaves it in the
// store only. The next leader appends it to the stream under its own id
// before evaluating, so the instances that were running show it live.
func TestCommittedEventsMissingFromTheStreamAreRepublished(t *testing.T) {
	r := testenv.Redis(t)
	pg := testenv.Postgres(t)
	one := newInstance(t, "one", r.URL(), pg)
	leader(t, []*instance{one}, 5*time.Second)
	two := newInstance(t, "two", r.URL(), pg)
	c := subscribe(t, two.hub, event.TopicAlerts)

	// The leader loses Redis; what it committed then never reaches the
	// stream (committed here directly, as its engine would have).
	one.rdb.Close()
	ctx := context.Background()
	st, err := postgres.Open(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := event.NewID(time.Now().UnixMilli(), 0)
	a := crowd.Alert{ID: "al_orphan", ZoneID: "ramp", Level: crowd.Critical, Kind: crowd.KindDensity,
		Message: "committed, never streamed", Timestamp: id.Ms(), UpdatedAt: id.Ms(), Status: crowd.StatusActive}
	data, _ := json.Marshal(map[string]any{"type": event.TypeAlert, "data": a})
	if err := st.Commit(ctx, store.Batch{Alerts: []crowd.Alert{a},
		Events: []store.StoredEvent{{ID: id, Topic: event.TopicAlerts, Type: event.TypeAlert, Data: data, At: time.Now()}}}); err != nil {
		t.Fatal(err)
	}

	leader(t, []*instance{two}, 5*time.Second)
	evs := c.waitFor(t, 5*time.Second, func(evs []*event.Event) bool { return len(evs) > 0 })
	if evs[0].ID != id || evs[0].StateKey != "alert:al_orphan" {
		t.Fatalf("got %v (%s), want the orphaned alert with its own id %v", evs[0].ID, evs[0].StateKey, id)
	}
}
