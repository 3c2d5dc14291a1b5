package venue

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

func TestParseErrors(t *testing.T) {
	const zoneOK = `{"id":"a","kind":"moving","areaM2":10,"capacity":20}`
	tests := []struct {
		name, in, field, msg string
	}{
		{"truncated", `{"zones": [`, "", "malformed JSON"},
		{"syntax position", "{\n \"zones\": [}\n}", "", "line 2, column"},
		{"not an object", `[1,2]`, "", "must be a JSON object"},
		{"null", `null`, "", "not null"},
		{"trailing data", `{"zones":[` + zoneOK + `]} {}`, "", "unexpected data"},
		{"unknown top field", `{"name":"x","zone":[]}`, "zone", "unknown field"},
		{"top field wrong case", `{"Name":"x","zones":[` + zoneOK + `]}`, "Name", "unknown field"},
		{"no zones", `{"name":"x"}`, "zones", "at least one zone"},
		{"zones not array", `{"zones":{}}`, "zones", "array"},
		{"zone not object", `{"zones":[` + zoneOK + `, 3]}`, "zones[1]", "JSON object"},
		{"unknown zone field", `{"zones":[` + zoneOK + `,{"id":"b","kind":"moving","areaM2":1,"colour":"red"}]}`, "zones[1].colour", "unknown field"},
		{"zone field wrong case", `{"zones":[{"id":"b","kind":"moving","AreaM2":1}]}`, "zones[0].AreaM2", "unknown field"},
		{"missing kind", `{"zones":[{"id":"b","areaM2":1}]}`, "zones[0].kind", "required"},
		{"bad kind", `{"zones":[{"id":"b","kind":"sitting","areaM2":1}]}`, "zones[0].kind", `"standing" or "moving"`},
		{"missing id", `{"zones":[{"kind":"moving","areaM2":1}]}`, "zones[0].id", "required"},
		{"area as string", `{"zones":[{"id":"b","kind":"moving","areaM2":"10"}]}`, "zones[0].areaM2", "must be a number, not a JSON string"},
		{"area zero", `{"zones":[` + zoneOK + `,{"id":"b","kind":"moving","areaM2":1},{"id":"c","kind":"standing","areaM2":0}]}`, "zones[2].areaM2", "positive area"},
		{"area negative", `{"zones":[{"id":"c","kind":"standing","areaM2":-4}]}`, "zones[0].areaM2", "positive area"},
		{"capacity fraction", `{"zones":[{"id":"c","kind":"standing","areaM2":4,"capacity":2.5}]}`, "zones[0].capacity", "whole number"},
		{"capacity negative", `{"zones":[{"id":"c","kind":"standing","areaM2":4,"capacity":-1}]}`, "zones[0].capacity", "negative"},
		{"exit capacity negative", `{"zones":[{"id":"c","kind":"standing","areaM2":4,"exitCapacityPerMin":-1}]}`, "zones[0].exitCapacityPerMin", "non-negative"},
		{"duplicate id", `{"zones":[` + zoneOK + `,` + zoneOK + `]}`, "zones[1].id", "duplicate"},
		{"unknown threshold", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"thresholds":{"alarm":3}}]}`, "zones[0].thresholds.alarm", "unknown field"},
		{"threshold not number", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"thresholds":{"watch":"low"}}]}`, "zones[0].thresholds.watch", "must be a number"},
		{"thresholds not object", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"thresholds":[1,2]}]}`, "zones[0].thresholds", "JSON object"},
		{"thresholds out of order", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"thresholds":{"warning":1.0}}]}`, "zones[0].thresholds.warning", "greater than watch"},
		{"threshold above default emergency", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"thresholds":{"critical":5}}]}`, "zones[0].thresholds.emergency", "greater than critical"},
		{"polygon too short", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"polygon":[[0,0],[1,1]]}]}`, "zones[0].polygon", "at least 3"},
		{"polygon point shape", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"polygon":[[0,0],[1,1],{"x":1}]}]}`, "zones[0].polygon", "array"},
		{"unknown rule", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"rules":{"dwel":"20s"}}]}`, "zones[0].rules.dwel", "unknown field"},
		{"bad rule duration", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"rules":{"dwellLow":"soon"}}]}`, "zones[0].rules", "duration"},
		{"bad zone counter reset", `{"timezone":"UTC","zones":[{"id":"c","kind":"moving","areaM2":4,"rules":{"counterReset":"4am"}}]}`, "zones[0].rules", "time of day"},
		{"zone counter reset without timezone", `{"zones":[{"id":"c","kind":"moving","areaM2":4,"rules":{"counterReset":"04:00"}}]}`, "zones[0].rules.counterReset", "timezone"},
		{"bad venue counter reset", `{"timezone":"UTC","counterReset":"25:00","zones":[` + zoneOK + `]}`, "counterReset", "time of day"},
		{"venue counter reset without timezone", `{"counterReset":"04:00","zones":[` + zoneOK + `]}`, "counterReset", "timezone"},
		{"unknown timezone", `{"timezone":"Europe/Atlantis","zones":[` + zoneOK + `]}`, "timezone", "unknown time zone"},
		{"id too long", `{"zones":[{"id":"` + strings.Repeat("x", 65) + `","kind":"moving","areaM2":4}]}`, "zones[0].id", "64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var ce *crowd.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse error = %v (%T), want *crowd.Error", err, err)
			}
			if ce.Code != crowd.ErrInvalid {
				t.Errorf("code = %q, want %q", ce.Code, crowd.ErrInvalid)
			}
			if ce.Field != tt.field {
				t.Errorf("field = %q, want %q (error %v)", ce.Field, tt.field, err)
			}
			if !strings.Contains(ce.Message, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", ce.Message, tt.msg)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	v, err := Parse([]byte(`{
		"name": "Hall",
		"zones": [
			{"id": "floor", "kind": "standing", "areaM2": 500, "capacity": 1000},
			{"id": "exit", "name": "Exit corridor", "kind": "moving", "areaM2": 60,
			 "thresholds": {"warning": 1.8}, "polygon": [[0,0],[10,0],[10,6]]}
		]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "Hall" || len(v.Zones) != 2 {
		t.Fatalf("venue = %+v", v)
	}
	floor, exit := v.Zones[0], v.Zones[1]
	if floor.Name != "floor" {
		t.Errorf("name default = %q, want the id", floor.Name)
	}
	if floor.Thresholds != crowd.DefaultThresholds(crowd.Standing) {
		t.Errorf("standing thresholds = %+v, want the standing defaults", floor.Thresholds)
	}
	want := crowd.DefaultThresholds(crowd.Moving)
	want.Warning = 1.8
	if exit.Thresholds != want {
		t.Errorf("partial thresholds = %+v, want moving defaults with warning 1.8 (%+v)", exit.Thresholds, want)
	}
	if len(exit.Polygon) != 3 || exit.Polygon[2] != (crowd.Point{10, 6}) {
		t.Errorf("polygon = %v", exit.Polygon)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "venue.json")
	if err := os.WriteFile(good, []byte(`{"zones":[{"id":"a","kind":"moving","areaM2":3.6}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := Load(good)
	if err != nil || len(v.Zones) != 1 || v.Zones[0].AreaM2 != 3.6 {
		t.Fatalf("Load = %+v, %v", v, err)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"zones":[{"id":"a","kind":"moving","areaM2":0}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	var ce *crowd.Error
	if !errors.As(err, &ce) || ce.Field != "zones[0].areaM2" || !strings.Contains(ce.Message, bad) {
		t.Fatalf("Load(bad) = %v, want a field error naming the file", err)
	}

	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestDemo(t *testing.T) {
	v := Demo()
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := len(v.Zones); n < 12 || n > 16 {
		t.Errorf("demo has %d zones, want 12–16", n)
	}
	kinds := map[crowd.Kind]int{}
	for _, z := range v.Zones {
		kinds[z.Kind]++
		if z.Capacity <= 0 {
			t.Errorf("%s: no licensed capacity", z.ID)
		}
		if len(z.Polygon) < 4 {
			t.Errorf("%s: no outline on the site plan", z.ID)
			continue
		}
		// The declared area and the drawn outline must agree, or the map
		// would mislead the operator about where the crowd is.
		if a := polygonArea(z.Polygon); math.Abs(a-z.AreaM2)/z.AreaM2 > 0.05 {
			t.Errorf("%s: areaM2 %g but the polygon covers %.0f m²", z.ID, z.AreaM2, a)
		}
		// A licensed capacity at the critical density would license a
		// dangerous crowd.
		if d := float64(z.Capacity) / z.AreaM2; d >= z.Thresholds.Critical {
			t.Errorf("%s: capacity %d means %.2f p/m², at or above its critical threshold", z.ID, z.Capacity, d)
		}
	}
	if kinds[crowd.Standing] < 4 || kinds[crowd.Moving] < 4 {
		t.Errorf("kinds = %v, want both standing and moving zones", kinds)
	}
	// Zones must not overlap on the plan (the map would hide one of them).
	for i, a := range v.Zones {
		for _, b := range v.Zones[i+1:] {
			if overlap(a.Polygon, b.Polygon) {
				t.Errorf("%s and %s overlap on the site plan", a.ID, b.ID)
			}
		}
	}
	// Each call returns an independent copy.
	v.Zones[0].Name = "changed"
	if Demo().Zones[0].Name == "changed" {
		t.Error("Demo shares state between calls")
	}
}

// polygonArea is the shoelace formula.
func polygonArea(p []crowd.Point) float64 {
	var s float64
	for i := range p {
		j := (i + 1) % len(p)
		s += p[i][0]*p[j][1] - p[j][0]*p[i][1]
	}
	return math.Abs(s) / 2
}

// overlap tests whether the interiors of two simple polygons share area, by
// sampling a grid over their bounding boxes' intersection: enough for
// rectilinear plans with metre-sized features.
func overlap(a, b []crowd.Point) bool {
	ax0, ay0, ax1, ay1 := bounds(a)
	bx0, by0, bx1, by1 := bounds(b)
	x0, y0, x1, y1 := math.Max(ax0, bx0), math.Max(ay0, by0), math.Min(ax1, bx1), math.Min(ay1, by1)
	for x := x0 + 0.25; x < x1; x += 0.5 {
		for y := y0 + 0.25; y < y1; y += 0.5 {
			if inside(a, x, y) && inside(b, x, y) {
				return true
			}
		}
	}
	return false
}

func bounds(p []crowd.Point) (x0, y0, x1, y1 float64) {
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range p {
		x0, y0 = math.Min(x0, q[0]), math.Min(y0, q[1])
		x1, y1 = math.Max(x1, q[0]), math.Max(y1, q[1])
	}
	return
}

func inside(p []crowd.Point, x, y float64) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		if (p[i][1] > y) != (p[j][1] > y) && x < (p[j][0]-p[i][0])*(y-p[i][1])/(p[j][1]-p[i][1])+p[i][0] {
			in = !in
		}
	}
	return in
}
