package chaos

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// The checker must catch what it claims to catch: each case feeds it a
// made-up history with one known fault and expects exactly that kind.

func alertData(id, status string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":%q,"status":%q,"zoneId":"gate-a","level":"critical"}`, id, status))
}

func ev(ms int64, id, status string) storedEvent {
	return storedEvent{ID: event.NewID(ms, 0), Type: "alert", Data: alertData(id, status)}
}

func rec(conn int, kind string, e storedEvent) subRecord {
	return subRecord{Conn: conn, Kind: kind, ID: e.ID.String(), Type: e.Type, Data: e.Data}
}

func store(evs ...storedEvent) *storeState {
	st := &storeState{Alerts: map[string]storedAlert{}, CommitOrder: "test"}
	for i, e := range evs {
		e.Order = i
		st.Events = append(st.Events, e)
		var a struct{ ID, Status string }
		json.Unmarshal(e.Data, &a)
		st.Alerts[a.ID] = storedAlert{ID: a.ID, Status: a.Status}
	}
	return st
}

func kinds(v *verdict) map[string]int {
	m := map[string]int{}
	for k, l := range v.Violations {
		m[k] = len(l)
	}
	return m
}

func TestCheckerCatchesDeliveryFaults(t *testing.T) {
	a1, a2, a3 := ev(1000, "al_1", "active"), ev(2000, "al_2", "active"), ev(3000, "al_3", "active")
	st := store(a1, a2, a3)
	connected := func(conn int, last string, resumed bool) subRecord {
		return subRecord{Conn: conn, Kind: "connected", LastID: last, Resumed: resumed}
	}
	cases := map[string]struct {
		recs []subRecord
		want map[string]int
	}{
		"clean": {[]subRecord{connected(1, "", false), rec(1, "event", a1), rec(1, "event", a2), rec(1, "event", a3)}, map[string]int{}},
		"resume without gap": {[]subRecord{connected(1, "", false), rec(1, "event", a1),
			connected(2, a1.ID.String(), true), rec(2, "event", a2), rec(2, "event", a3)}, map[string]int{}},
		"missed": {[]subRecord{connected(1, "", false), rec(1, "event", a1), rec(1, "event", a3)},
			map[string]int{vMissed: 1, vStale: 1}},
		"duplicate across a resume": {[]subRecord{connected(1, "", false), rec(1, "event", a1), rec(1, "event", a2),
			connected(2, a2.ID.String(), true), rec(2, "event", a2), rec(2, "event", a3)},
			map[string]int{vDuplicate: 1}},
		"reset covers the gap": {[]subRecord{connected(1, "", false), rec(1, "event", a1),
			connected(2, a1.ID.String(), false), {Conn: 2, Kind: "reset", Topics: []string{"density", "alerts"}},
			rec(2, "snapshot", a1), rec(2, "snapshot", a2), {Conn: 2, Kind: "checkpoint", ID: a2.ID.String()},
			rec(2, "event", a3)}, map[string]int{}},
		"reset with a stale snapshot": {[]subRecord{connected(1, "", false), rec(1, "event", a1),
			connected(2, a1.ID.String(), false), {Conn: 2, Kind: "reset", Topics: []string{"density", "alerts"}},
			rec(2, "snapshot", a1), {Conn: 2, Kind: "checkpoint", ID: a2.ID.String()},
			rec(2, "event", a3)}, map[string]int{vSnapshot: 1, vStale: 1}},
		"not resumed, no reset": {[]subRecord{connected(1, "", false), rec(1, "event", a1),
			connected(2, a1.ID.String(), false), rec(2, "event", a3)},
			map[string]int{vNoReset: 1, vMissed: 1, vStale: 1}},
		"delivered but not stored": {[]subRecord{connected(1, "", false), rec(1, "event", a1), rec(1, "event", a2),
			rec(1, "event", a3), rec(1, "event", ev(4000, "al_4", "active"))},
			map[string]int{vNotStored: 1, vStale: 1}},
		"not stored, then a reset": {[]subRecord{connected(1, "", false), rec(1, "event", a1), rec(1, "event", a2),
			rec(1, "event", a3), rec(1, "event", ev(4000, "al_4", "active")),
			connected(2, event.NewID(4000, 0).String(), false), {Conn: 2, Kind: "reset", Topics: []string{"density", "alerts"}},
			rec(2, "snapshot", a1), rec(2, "snapshot", a2), rec(2, "snapshot", a3), {Conn: 2, Kind: "checkpoint", ID: a3.ID.String()}},
			map[string]int{}},
		"one id, two events": {[]subRecord{connected(1, "", false), rec(1, "event", a1), rec(1, "event", a2),
			rec(1, "event", storedEvent{ID: a3.ID, Type: "alert", Data: alertData("al_9", "active")})},
			map[string]int{vConflict: 1, vStale: 1}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			v := check(&observation{Mode: "single", Store: st, Subs: []*subscriber{{name: "s", recs: c.recs}}})
			if got := kinds(v); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("violations %v, want %v\n%v", got, c.want, v.Violations)
			}
		})
	}
}

func TestCheckerCatchesStoreAndClusterFaults(t *testing.T) {
	a1, a2 := ev(1000, "al_1", "active"), ev(2000, "al_2", "active")
	t0 := time.Now()
	o := &observation{
		Mode:  "cluster",
		Lease: 2 * time.Second,
		Store: store(a2, a1), // committed out of id order: a fenced leader
		Ops: []op{
			{Kind: "test-alert", Arg: "drill 1", Status: 200, Body: `{"id":"al_lost"}`},
			{Kind: "ack", Arg: "al_1", Status: 200, Body: `{"acknowledgedBy":"local"}`},
		},
		Emergencies: []instEmergency{{Instance: "a", Status: 200, Body: "null"},
			{Instance: "b", Status: 200, Body: `{"active":true,"reason":"x","activatedAt":5}`}},
		Roles: []roleSample{{At: t0, Roles: []string{"leader"}}, {At: t0.Add(time.Second), Roles: []string{"down"}},
			{At: t0.Add(6 * time.Second), Roles: []string{"leader"}}},
	}
	want := map[string]int{vStoreOrder: 1, vLost: 2, vDiverged: 1, vLeaderGap: 1}
	if got := kinds(check(o)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("violations %v, want %v", got, want)
	}
}
