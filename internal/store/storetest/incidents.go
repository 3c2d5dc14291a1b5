package storetest

import (
	"fmt"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

func messages(ins []crowd.Incident) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.Message
	}
	return out
}

func testIncidents(t *testing.T, open Opener) {
	s := openStore(t, open)
	crit := crowd.Critical
	first := crowd.Incident{Timestamp: base, Kind: crowd.IncidentLevel, ZoneID: "north", AlertID: "a-1",
		Level: &crit, Actor: "engine", Message: "m0"}
	commit(t, s, store.Batch{Incidents: []crowd.Incident{
		first,
		incident(base+2000, crowd.IncidentAlert, "south", "m1"),
		// Timestamps need not be monotonic (an operator action stamped with
		// the server clock next to reading-time entries): order is the
		// store's, by Seq.
		incident(base+1000, crowd.IncidentAcknowledge, "north", "m2"),
	}})
	commit(t, s, store.Batch{Incidents: []crowd.Incident{
		incident(base+3000, crowd.IncidentEmergency, "", "m3"),
		incident(base+4000, crowd.IncidentResolve, "north", "m4"),
	}})
	all, err := s.Incidents(ctx(t), store.IncidentFilter{})
	if err != nil {
		t.Fatalf("incidents: %v", err)
	}
	if fmt.Sprint(messages(all)) != "[m0 m1 m2 m3 m4]" {
		t.Fatalf("incidents in order %v; want m0..m4", messages(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("seq not increasing: %d then %d", all[i-1].Seq, all[i].Seq)
		}
	}
	got := all[0]
	if got.Seq == 0 || got.Level == nil || *got.Level != crit || got.Timestamp != first.Timestamp ||
		got.Kind != first.Kind || got.ZoneID != first.ZoneID || got.AlertID != first.AlertID ||
		got.Actor != first.Actor || got.Message != first.Message {
		t.Fatalf("incident read back as %+v; want %+v with a seq", got, first)
	}
	if all[1].Level != nil {
		t.Fatalf("an incident without a level read back with level %v", *all[1].Level)
	}
	cases := []struct {
		name string
		f    store.IncidentFilter
		want string
	}{
		{"zone", store.IncidentFilter{ZoneID: "north"}, "[m0 m2 m4]"},
		{"since, inclusive", store.IncidentFilter{Since: base + 2000}, "[m1 m3 m4]"},
		{"until, exclusive", store.IncidentFilter{Until: base + 2000}, "[m0 m2]"},
		{"window", store.IncidentFilter{Since: base + 1000, Until: base + 4000}, "[m1 m2 m3]"},
		{"after a seq (paging)", store.IncidentFilter{After: all[1].Seq}, "[m2 m3 m4]"},
		{"limit", store.IncidentFilter{Limit: 2}, "[m0 m1]"},
		{"page two", store.IncidentFilter{After: all[1].Seq, Limit: 2}, "[m2 m3]"},
		{"zone and window", store.IncidentFilter{ZoneID: "north", Since: base + 500}, "[m2 m4]"},
	}
	for _, tc := range cases {
		got, err := s.Incidents(ctx(t), tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(messages(got)) != tc.want {
			t.Errorf("%s: got %v; want %s", tc.name, messages(got), tc.want)
		}
	}
}
