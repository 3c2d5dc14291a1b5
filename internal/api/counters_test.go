package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// TestPostDoorCrossings: a door's crossings go in through the API like any
// reading (202, the zone's balance in the answer and in /density); the
// same report sent again is a 409 that names its timestamp and changes
// nothing; bad crossings are a 400 naming the field.
func TestPostDoorCrossings(t *testing.T) {
	e := start(t, false, nil)
	ts := t0.UnixMilli() - 1000
	body := fmt.Sprintf(`{"zoneId":"gate-a","sensorId":"door-1","in":12,"out":3,"timestamp":%d}`, ts)
	r := e.do("POST", Prefix+"/readings", body)
	if r.status != http.StatusAccepted {
		t.Fatalf("crossings: %d %s", r.status, r.body)
	}
	var got struct {
		Accepted int                    `json:"accepted"`
		Readings []crowd.DensityReading `json:"readings"`
	}
	r.decode(t, &got)
	if got.Accepted != 1 || got.Readings[0].Count == nil || *got.Readings[0].Count != 9 ||
		got.Readings[0].Counters == nil || got.Readings[0].Counters.Persons != 9 || got.Readings[0].Counters.Doors != 1 {
		t.Fatalf("crossings: %s", r.body)
	}
	wantError(t, e.do("POST", Prefix+"/readings", body), http.StatusConflict, "conflict", "readings[0].timestamp")
	// Only "out": the missing "in" is 0.
	r = e.do("POST", Prefix+"/readings", fmt.Sprintf(`[{"zoneId":"gate-a","sensorId":"door-2","out":4,"timestamp":%d}]`, ts+500))
	if r.status != http.StatusAccepted {
		t.Fatalf("out only: %d %s", r.status, r.body)
	}
	var latest []crowd.DensityReading
	e.do("GET", Prefix+"/density", "").decode(t, &latest)
	if len(latest) != 1 || latest[0].Counters == nil || latest[0].Counters.Persons != 5 || *latest[0].Count != 5 {
		t.Fatalf("/density after 12 in, 3 + 4 out: %+v", latest)
	}

	for _, c := range []struct{ name, body, field string }{
		{"negative in", `{"zoneId":"gate-a","sensorId":"door-1","in":-1,"timestamp":%d}`, "readings[0].in"},
		{"fractional in", `{"zoneId":"gate-a","sensorId":"door-1","in":1.5,"timestamp":%d}`, "readings[0].in"},
		{"string out", `{"zoneId":"gate-a","sensorId":"door-1","out":"2","timestamp":%d}`, "readings[0].out"},
		{"huge out", `{"zoneId":"gate-a","sensorId":"door-1","out":1e9,"timestamp":%d}`, "readings[0].out"},
		{"crossings and density", `{"zoneId":"gate-a","sensorId":"door-1","in":1,"density":1,"timestamp":%d}`, "readings[0].in"},
		{"no door", `{"zoneId":"gate-a","in":1,"timestamp":%d}`, "readings[0].sensorId"},
		{"no timestamp", `{"zoneId":"gate-a","sensorId":"door-1","in":1}`, "readings[0].timestamp"},
		{"the doors' own id", `{"zoneId":"gate-a","sensorId":"counters","in":1,"timestamp":%d}`, "readings[0].sensorId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.body
			if strings.Contains(b, "%d") {
				b = fmt.Sprintf(b, ts+2000)
			}
			wantError(t, e.do("POST", Prefix+"/readings", b), http.StatusBadRequest, "invalid", c.field)
		})
	}
	if after := e.engine.Latest(); *after[0].Count != 5 {
		t.Fatalf("refused reports changed the balance: %+v", after)
	}
}
