package chaos

import (
	"encoding/json"
	"time"
)

// checkEmergency: at the end every instance answers the same emergency
// mode, and it is the store's (the emergency table a restart restores).
func checkEmergency(o *observation, v *verdict) {
	want := tableEmergency(o.Store)
	for _, e := range o.Emergencies {
		if e.Status != 200 {
			v.add(vDiverged, "%s: GET /emergency answered %d %s", e.Instance, e.Status, trim(e.Body))
			continue
		}
		if got := emergencyString(json.RawMessage(e.Body)); got != want {
			v.add(vDiverged, "%s says emergency %s, the store says %s", e.Instance, got, want)
		}
	}
}

// checkLeaderGaps: from the /readyz samples, no stretch without a leader
// longer than the lease plus 2 s. While Redis itself is down nobody can
// hold a lease (by design), so a stretch is counted from Redis's return.
func checkLeaderGaps(o *observation, v *verdict) {
	limit := o.Lease + 2*time.Second
	var down [][2]time.Time
	for _, f := range o.Faults {
		if f.Kind == "redis-restart" {
			down = append(down, [2]time.Time{f.Start, f.End})
		}
	}
	var since time.Time // start of the current stretch without a leader
	longest := time.Duration(0)
	report := func(end time.Time) {
		from := since
		for _, d := range down {
			if d[0].Before(end) && d[1].After(from) && d[1].After(from) {
				from = d[1]
			}
		}
		gap := end.Sub(from)
		if gap > longest {
			longest = gap
		}
		if gap > limit {
			v.add(vLeaderGap, "no leader from %s to %s (%s; the promise is %s)", clock(from), clock(end),
				gap.Round(100*time.Millisecond), limit)
		}
	}
	for _, s := range o.Roles {
		lead := false
		for _, r := range s.Roles {
			lead = lead || r == "leader"
		}
		switch {
		case !lead && since.IsZero():
			since = s.At
		case lead && !since.IsZero():
			report(s.At)
			since = time.Time{}
		}
	}
	if !since.IsZero() && len(o.Roles) > 0 {
		report(o.Roles[len(o.Roles)-1].At)
	}
	v.Stats["longest stretch without a leader (ms)"] = int(longest.Milliseconds())
	v.Stats["role samples"] = len(o.Roles)
}
