package crowd

import (
	"strings"
	"testing"
	"time"
)

func TestDensityAlertLifecycle(t *testing.T) {
	cases := []struct {
		name string
		segs []segment
		want []string
	}{
		{"watch raises and resolves by itself",
			[]segment{{1, 20 * time.Second}, {2.5, time.Minute}, {1, 3 * time.Minute}},
			[]string{"density:watch:active@55s", "density:watch:resolved@205s"}},
		{"escalation updates the open alert",
			[]segment{{1, 20 * time.Second}, {2.5, time.Minute}, {4, time.Minute}},
			[]string{"density:watch:active@55s", "density:warning:active@115s"}},
		{"a warning alert follows the level down, then resolves at normal",
			[]segment{{1, 20 * time.Second}, {4, time.Minute}, {2.5, 3 * time.Minute}, {1, 3 * time.Minute}},
			[]string{"density:watch:active@54s", "density:warning:active@55s", "density:watch:active@205s", "density:watch:resolved@385s"}},
		{"critical never clears by itself",
			[]segment{{1, 20 * time.Second}, {5, 40 * time.Second}, {1, 10 * time.Minute}},
			[]string{"density:critical:active@35s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(standingZone("z"))
			outs := run(m, series("z", t0, time.Second, c.segs...))
			equalStrings(t, "alerts", alertEvents(outs), c.want)
			ids := map[string]bool{}
			for _, o := range outs {
				for _, a := range o.Alerts {
					ids[a.ID] = true
				}
			}
			if len(ids) != 1 {
				t.Fatalf("%d alert ids, want one alert for the whole episode", len(ids))
			}
		})
	}
}

func TestEscalationNotifiesAndReactivates(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	run(m, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{2.5, time.Minute}))
	open := m.OpenAlerts()
	if len(open) != 1 || open[0].Notifications != 1 {
		t.Fatalf("open %+v", open)
	}
	if _, _, err := m.Acknowledge(open[0].ID, "ops", t0.Add(70*time.Second)); err != nil {
		t.Fatal(err)
	}
	outs := run(m, series("z", t0.Add(80*time.Second), time.Second, segment{4, time.Minute}))
	a := m.OpenAlerts()[0]
	if a.ID != open[0].ID || a.Level != Warning || a.Status != StatusActive || a.AcknowledgedBy != "" || a.Notifications != 2 {
		t.Fatalf("after escalation %+v", a)
	}
	var escalations int
	for _, o := range outs {
		for _, in := range o.Incidents {
			if in.Kind == IncidentAlert && strings.Contains(in.Message, "escalated from watch to warning") {
				escalations++
				if in.Actor != "engine" || in.AlertID != a.ID || *in.Level != Warning {
					t.Errorf("escalation incident %+v", in)
				}
			}
		}
	}
	if escalations != 1 {
		t.Fatalf("%d escalation incidents, want 1", escalations)
	}
}

func TestRenotifyGap(t *testing.T) {
	cases := []struct {
		name      string
		quiet     time.Duration // normal readings between two watch episodes
		wantNotes int           // notifications of the second episode's alert
	}{
		// Episode 1 raises at 55 s and resolves at 205 s.
		{"same level again within 5 minutes is not notified", 150 * time.Second, 0},
		{"same level again after 5 minutes is notified", 6 * time.Minute, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(standingZone("z"))
			outs := run(m, series("z", t0, time.Second,
				segment{1, 20 * time.Second}, segment{2.5, time.Minute}, segment{1, c.quiet}, segment{2.5, time.Minute}))
			var raises []Alert
			for _, o := range outs {
				for _, a := range o.Alerts {
					if a.Timestamp == a.UpdatedAt && a.Status == StatusActive {
						raises = append(raises, a)
					}
				}
			}
			if len(raises) != 2 || raises[0].ID == raises[1].ID {
				t.Fatalf("raises %+v, want two alerts", raises)
			}
			if raises[0].Notifications != 1 || raises[1].Notifications != c.wantNotes {
				t.Fatalf("notifications %d then %d, want 1 then %d", raises[0].Notifications, raises[1].Notifications, c.wantNotes)
			}
		})
	}
}

func TestUnacknowledgedCriticalIsRemindedEveryGap(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	outs := run(m, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{5, 12 * time.Minute}))
	equalStrings(t, "alerts", alertEvents(outs), []string{
		"density:critical:active@35s", "density:critical:active@335s", "density:critical:active@635s"})
	if n := m.OpenAlerts()[0].Notifications; n != 3 {
		t.Fatalf("notifications %d, want 3", n)
	}
	// Acknowledged, it is not reminded again.
	a := m.OpenAlerts()[0]
	if _, _, err := m.Acknowledge(a.ID, "ops", t0.Add(13*time.Minute)); err != nil {
		t.Fatal(err)
	}
	outs = run(m, series("z", t0.Add(740*time.Second), time.Second, segment{5, 10 * time.Minute}))
	if ev := alertEvents(outs); len(ev) != 0 {
		t.Fatalf("acknowledged alert changed: %q", ev)
	}
}

func TestAcknowledge(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	if _, _, err := m.Acknowledge("nope", "ops", t0); ErrorCode(err) != ErrNotFound {
		t.Fatalf("unknown id: %v", err)
	}
	run(m, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{5, 40 * time.Second}))
	id := m.OpenAlerts()[0].ID
	a, incs, err := m.Acknowledge(id, "alice", t0.Add(50*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusAcknowledged || a.AcknowledgedBy != "alice" || a.AcknowledgedAt != t0.Add(50*time.Second).UnixMilli() {
		t.Fatalf("acknowledged %+v", a)
	}
	if len(incs) != 1 || incs[0].Kind != IncidentAcknowledge || incs[0].Actor != "alice" || incs[0].AlertID != id {
		t.Fatalf("incidents %+v", incs)
	}
	again, incs, err := m.Acknowledge(id, "bob", t0.Add(55*time.Second))
	if err != nil || len(incs) != 0 || again != a {
		t.Fatalf("second acknowledgement: %+v %+v %v", again, incs, err)
	}
	// Still critical: it stays open, acknowledged.
	run(m, series("z", t0.Add(60*time.Second), time.Second, segment{5, time.Minute}))
	if open := m.OpenAlerts(); len(open) != 1 || open[0].Status != StatusAcknowledged {
		t.Fatalf("open %+v", open)
	}
	// The median is below 4.2 from 124 s: resolved after the 120 s hold.
	outs := run(m, series("z", t0.Add(120*time.Second), time.Second, segment{1, 3 * time.Minute}))
	equalStrings(t, "alerts", alertEvents(outs), []string{"density:critical:resolved@244s"})
	if _, _, err := m.Acknowledge(id, "alice", t0.Add(300*time.Second)); ErrorCode(err) != ErrConflict {
		t.Fatalf("acknowledging a resolved alert: %v", err)
	}
}

func TestAcknowledgeAfterTheLevelCameDownResolvesAtOnce(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	run(m, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{5, 40 * time.Second}, segment{1, 5 * time.Minute}))
	id := m.OpenAlerts()[0].ID
	a, incs, err := m.Acknowledge(id, "alice", t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusResolved || a.AcknowledgedBy != "alice" || a.ResolvedAt != t0.Add(10*time.Minute).UnixMilli() {
		t.Fatalf("alert %+v", a)
	}
	if len(incs) != 2 || incs[0].Kind != IncidentAcknowledge || incs[1].Kind != IncidentResolve {
		t.Fatalf("incidents %+v", incs)
	}
	if len(m.OpenAlerts()) != 0 {
		t.Fatal("still open")
	}
}

// An acknowledged critical alert whose zone comes down to warning resolves;
// the zone still needs watching, so a warning alert takes its place once the
// zone has stayed at warning for the dwell (not notified: critical was
// notified less than 5 minutes before).
func TestAcknowledgedCriticalHandsOverToWarning(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	run(m, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{5, 40 * time.Second}))
	if _, _, err := m.Acknowledge(m.OpenAlerts()[0].ID, "ops", t0.Add(50*time.Second)); err != nil {
		t.Fatal(err)
	}
	outs := run(m, series("z", t0.Add(60*time.Second), time.Second, segment{4, 3 * time.Minute}))
	equalStrings(t, "alerts", alertEvents(outs), []string{"density:critical:resolved@185s", "density:warning:active@215s"})
	open := m.OpenAlerts()
	if len(open) != 1 || open[0].Level != Warning || open[0].Notifications != 0 {
		t.Fatalf("open %+v", open)
	}
}

// A hall whose licensed capacity is reached at 6 p/m²: the density goes to
// emergency first, the capacity alert (critical) is raised muted, and is
// unmuted, and only then notified, when the zone leaves emergency.
func TestEmergencyMutesTheZonesLowerAlerts(t *testing.T) {
	hall := Zone{ID: "hall", Kind: Standing, AreaM2: 100, Capacity: 600}.WithDefaults()
	m := newTestMonitor(hall)
	outs := run(m, series("hall", t0, time.Second, segment{1, 20 * time.Second}, segment{6.5, time.Minute}, segment{1, 4 * time.Minute}))
	equalStrings(t, "alerts", alertEvents(outs), []string{
		"density:emergency:active@22s", "capacity:critical:active:muted@35s", "capacity:critical:active@204s"})
	var muted, unmuted Alert
	for _, o := range outs {
		for _, a := range o.Alerts {
			if a.Kind == KindCapacity && a.Muted {
				muted = a
			} else if a.Kind == KindCapacity {
				unmuted = a
			}
		}
	}
	if muted.MutedReason != "zone hall is in emergency: lower alerts muted" || muted.Notifications != 0 {
		t.Fatalf("muted %+v", muted)
	}
	if unmuted.MutedReason != "" || unmuted.Notifications != 1 {
		t.Fatalf("unmuted %+v", unmuted)
	}
}

func TestCapacityTripsBeforeDensity(t *testing.T) {
	// 100 m² licensed for 200: 190 persons is 95 % (capacity warning) at a
	// comfortable 1.9 p/m² (density normal).
	z := Zone{ID: "bar", Kind: Standing, AreaM2: 100, Capacity: 200}.WithDefaults()
	m := newTestMonitor(z)
	var outs []Outcome
	for i := range 60 {
		n := 190
		outs = append(outs, m.Observe(Reading{ZoneID: "bar", Time: t0.Add(time.Duration(i) * time.Second), Density: 1.9, Count: &n}))
	}
	// Shown on the second reading (one reading of a fresh zone is not
	// believed alone), alerted after the dwell.
	if first := outs[0].Reading; first.Level != Normal {
		t.Fatalf("first reading %+v", first)
	}
	if second := outs[1].Reading; second.Level != Warning || !outs[1].LevelChanged {
		t.Fatalf("second reading %+v", second)
	}
	last := outs[len(outs)-1].Reading
	if last.Level != Warning || last.Occupancy != 0.95 || *last.Count != 190 {
		t.Fatalf("reading %+v", last)
	}
	equalStrings(t, "alerts", alertEvents(outs), []string{"capacity:warning:active@31s"})
	if !strings.Contains(m.OpenAlerts()[0].Message, "95% of licensed capacity 200") {
		t.Fatalf("message %q", m.OpenAlerts()[0].Message)
	}
}

func TestIncidentsOfAnEpisode(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	outs := run(m, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{2.5, time.Minute}, segment{1, 3 * time.Minute}))
	var got []string
	for _, o := range outs {
		for _, in := range o.Incidents {
			if in.Actor != "engine" || in.ZoneID != "z" || in.Level == nil {
				t.Errorf("incident %+v", in)
			}
			got = append(got, string(in.Kind)+":"+in.Level.String()+"@"+time.UnixMilli(in.Timestamp).Sub(t0).String())
		}
	}
	equalStrings(t, "incidents", got, []string{"level:watch@25s", "alert:watch@55s", "level:normal@3m25s", "resolve:watch@3m25s"})
}

func TestRaise(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	if _, _, err := m.Raise("nope", KindTest, Warning, "", t0); ErrorCode(err) != ErrNotFound {
		t.Fatalf("unknown zone: %v", err)
	}
	if _, _, err := m.Raise("z", KindTest, Normal, "", t0); ErrorCode(err) != ErrInvalid {
		t.Fatalf("level normal: %v", err)
	}
	if _, _, err := m.Raise("z", "bogus", Warning, "", t0); ErrorCode(err) != ErrInvalid {
		t.Fatalf("bad kind: %v", err)
	}
	a1, incs, err := m.Raise("z", KindTest, Warning, "", t0)
	if err != nil || a1.Status != StatusActive || a1.Notifications != 1 || len(incs) != 1 || incs[0].Kind != IncidentTest {
		t.Fatalf("raise: %+v %+v %v", a1, incs, err)
	}
	a2, _, _ := m.Raise("z", KindTest, Warning, "", t0)
	if a2.ID == a1.ID {
		t.Fatal("a second test alert reused the first: each press must be delivered")
	}
	// Quiet readings do not resolve a manual alert: only an operator does.
	run(m, series("z", t0, time.Second, segment{0.5, 5 * time.Minute}))
	if len(m.OpenAlerts()) != 2 {
		t.Fatalf("open %+v", m.OpenAlerts())
	}
	a, incs, err := m.Acknowledge(a1.ID, "ops", t0.Add(6*time.Minute))
	if err != nil || a.Status != StatusResolved || len(incs) != 2 {
		t.Fatalf("acknowledged manual alert: %+v %+v %v", a, incs, err)
	}
	// An operator's density alert: raising it again at a higher level
	// escalates it, at a lower level leaves it alone.
	d1, _, _ := m.Raise("z", KindDensity, Warning, "steward reports crush at gate 3", t0)
	d2, incs, _ := m.Raise("z", KindDensity, Watch, "", t0)
	if d2 != d1 || incs != nil {
		t.Fatalf("lower raise changed the alert: %+v", d2)
	}
	d3, _, _ := m.Raise("z", KindDensity, Critical, "", t0)
	if d3.ID != d1.ID || d3.Level != Critical || d3.Notifications != 2 {
		t.Fatalf("escalated manual alert %+v", d3)
	}
}
