package crowd

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDefaultRulesAreDomainValues(t *testing.T) {
	r := DefaultRules()
	checks := []struct {
		name      string
		got, want any
	}{
		{"SmoothingWindow", r.SmoothingWindow, 10 * time.Second},
		{"DwellLow", r.DwellLow, 30 * time.Second},
		{"DwellCritical", r.DwellCritical, 10 * time.Second},
		{"EmergencyReadings", r.EmergencyReadings, 2},
		{"HysteresisDensity", r.HysteresisDensity, 0.5},
		{"HysteresisCapacity", r.HysteresisCapacity, 0.10},
		{"HysteresisHold", r.HysteresisHold, 120 * time.Second},
		{"RenotifyGap", r.RenotifyGap, 5 * time.Minute},
		{"TrendRate", r.TrendRate, 0.1},
		{"TrendSustain", r.TrendSustain, 5 * time.Minute},
		{"TrendFloor", r.TrendFloor, 2.0},
		{"ForecastHorizon", r.ForecastHorizon, 15 * time.Minute},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestRulesValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Rules)
		field string
	}{
		{"negative dwell", func(r *Rules) { r.DwellLow = -time.Second }, "dwellLow"},
		{"no emergency readings", func(r *Rules) { r.EmergencyReadings = 0 }, "emergencyReadings"},
		{"negative hysteresis", func(r *Rules) { r.HysteresisDensity = -0.1 }, "hysteresisDensity"},
		{"tiny forecast window", func(r *Rules) { r.ForecastWindow = time.Second }, "forecastWindow"},
		{"capacity not increasing", func(r *Rules) { r.CapacityWarning = 0.8 }, "capacityWarning"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := DefaultRules()
			c.edit(&r)
			err := r.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			if e := err.(*Error); e.Field != c.field || e.Code != ErrInvalid {
				t.Fatalf("error %+v, want field %q", e, c.field)
			}
		})
	}
}

func TestZoneRuleOverridesFromJSON(t *testing.T) {
	var z Zone
	src := `{"id":"pitch","kind":"standing","areaM2":500,"capacity":1500,
		"rules":{"dwellLow":"45s","hysteresisDensity":0.3,"emergencyReadings":3}}`
	if err := json.Unmarshal([]byte(src), &z); err != nil {
		t.Fatal(err)
	}
	z = z.WithDefaults()
	if err := z.Validate(); err != nil {
		t.Fatal(err)
	}
	r := DefaultRules().Apply(z.Rules)
	if r.DwellLow != 45*time.Second || r.HysteresisDensity != 0.3 || r.EmergencyReadings != 3 {
		t.Fatalf("overrides not applied: %+v", r)
	}
	if r.DwellCritical != 10*time.Second {
		t.Fatalf("unset field changed: %v", r.DwellCritical)
	}
	out, err := json.Marshal(z.Rules)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"dwellLow":"45s","emergencyReadings":3,"hysteresisDensity":0.3}` {
		t.Fatalf("round trip: %s", out)
	}
}

func TestZoneRuleOverridesRejected(t *testing.T) {
	cases := []struct {
		src, field string
	}{
		{`{"dwellLow":"-5s"}`, "rules.dwellLow"},
		{`{"capacityWatch":1.2}`, "rules.capacityWarning"},
		{`{"emergencyReadings":0}`, "rules.emergencyReadings"},
	}
	for _, c := range cases {
		var o RuleOverrides
		if err := json.Unmarshal([]byte(c.src), &o); err != nil {
			t.Fatal(err)
		}
		z := standingZone("z")
		z.Rules = &o
		err := z.Validate()
		if err == nil || err.(*Error).Field != c.field {
			t.Errorf("%s: error %v, want field %s", c.src, err, c.field)
		}
	}
	var o RuleOverrides
	if err := json.Unmarshal([]byte(`{"dwellLow":30}`), &o); err == nil {
		t.Error("a bare number was accepted as a duration")
	}
	if err := json.Unmarshal([]byte(`{"dwellLow":"soon"}`), &o); err == nil {
		t.Error("a bad duration string was accepted")
	}
}

func TestZoneOverridesChangeTheMonitor(t *testing.T) {
	fast := standingZone("fast")
	d := Duration(5 * time.Second)
	fast.Rules = &RuleOverrides{DwellLow: &d}
	m := newTestMonitor(standingZone("slow"), fast)
	var levels, alerts []string
	for _, id := range []string{"slow", "fast"} {
		outs := run(m, series(id, t0, time.Second, segment{2.5, 40 * time.Second}))
		levels = append(levels, levelChanges(outs)...)
		alerts = append(alerts, alertEvents(outs)...)
	}
	// The dwell delays the alert, never the level the zone shows.
	equalStrings(t, "levels", levels, []string{"watch@1s", "watch@1s"})
	equalStrings(t, "alert raised after each zone's dwell", alerts, []string{"density:watch:active@31s", "density:watch:active@6s"})
}
