package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Issue 11 through the real binary and its HTTP API: the cases a hostile
// user or a broken sensor tried. One engine, no simulator, sensors that go
// silent after 3 s.

const api = "/api/crowd-risk"

type wireReading struct {
	ZoneID  string  `json:"zoneId"`
	Density float64 `json:"density"`
	Level   string  `json:"level"`
	Sensors int     `json:"sensors"`
	NoData  bool    `json:"noData"`
	Outlier bool    `json:"outlier"`
	Peak    *struct {
		SensorID string `json:"sensorId"`
		Level    string `json:"level"`
	} `json:"peak"`
}

type wireSensorAlert struct {
	ID       string `json:"id"`
	ZoneID   string `json:"zoneId"`
	Kind     string `json:"kind"`
	Level    string `json:"level"`
	Status   string `json:"status"`
	SensorID string `json:"sensorId"`
}

func (p *proc) postRaw(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *proc) emergencyActive(t *testing.T) bool {
	t.Helper()
	var m *struct{ Active bool }
	p.getJSON(t, api+"/emergency", &m)
	return m != nil && m.Active
}

func (p *proc) latest(t *testing.T, zone string) wireReading {
	t.Helper()
	var all []wireReading
	p.getJSON(t, api+"/density", &all)
	for _, r := range all {
		if r.ZoneID == zone {
			return r
		}
	}
	return wireReading{}
}

func (p *proc) openAlerts(t *testing.T) []wireSensorAlert {
	t.Helper()
	var as []wireSensorAlert
	p.getJSON(t, api+"/alerts?status=open", &as)
	return as
}

func (p *proc) mustPost(t *testing.T, body any) {
	t.Helper()
	if code, b := p.post(t, api+"/readings", body); code != 202 {
		t.Fatalf("POST readings: %d %s", code, b)
	}
}

func TestBinaryAlarmsYouCanTrust(t *testing.T) {
	p := start(t, freeAddr(t), t.TempDir(), "--simulate=false", "--sensor-timeout", "3s")

	t.Run("one reading raises nothing", func(t *testing.T) {
		p.mustPost(t, map[string]any{"zoneId": "ramp-west", "density": 4.5})
		p.mustPost(t, map[string]any{"zoneId": "ramp-west", "density": 0.3})
		if p.emergencyActive(t) {
			t.Fatal("one reading of 4.5 switched the venue into emergency")
		}
		for _, a := range p.openAlerts(t) {
			if a.ZoneID == "ramp-west" && a.Kind != "sensor" {
				t.Fatalf("one reading raised %+v", a)
			}
		}
	})

	t.Run("an operator's end of emergency holds", func(t *testing.T) {
		// stairs-station (emergency at 3.2): a real emergency, in the past.
		p.mustPost(t, series("stairs-station", append(ramp(0.5, 0.5, 10), 4, 4, 4, 4)))
		if !p.emergencyActive(t) {
			t.Fatal("a dwelled emergency did not switch emergency mode on")
		}
		if code, b := p.postRaw(t, "DELETE", api+"/emergency", ""); code != 200 {
			t.Fatalf("end: %d %s", code, b)
		}
		p.mustPost(t, []map[string]any{{"zoneId": "stairs-station", "density": 4}, {"zoneId": "stairs-station", "density": 0.3}})
		time.Sleep(2100 * time.Millisecond) // past the 2 s emergency dwell
		p.mustPost(t, []map[string]any{{"zoneId": "stairs-station", "density": 4}, {"zoneId": "stairs-station", "density": 4}})
		if p.emergencyActive(t) {
			t.Fatal("the engine overrode the operator's end for a zone that stayed in emergency")
		}
	})

	t.Run("fusion shows one high sensor", func(t *testing.T) {
		p.mustPost(t, []map[string]any{
			{"zoneId": "fan-zone", "sensorId": "cam-1", "density": 1.0},
			{"zoneId": "fan-zone", "sensorId": "cam-2", "density": 1.2},
			{"zoneId": "fan-zone", "sensorId": "cam-3", "density": 5.5},
		})
		r := p.latest(t, "fan-zone")
		if r.Density != 1.2 || r.Sensors != 3 || r.Peak == nil || r.Peak.SensorID != "cam-3" || r.Peak.Level != "critical" {
			t.Fatalf("fan-zone %+v (peak %+v)", r, r.Peak)
		}
	})

	t.Run("bad input is refused, naming the field", func(t *testing.T) {
		for _, c := range []struct{ body, field, says string }{
			{`{"zoneId":"gate-a","density":1,"timestamp":1700000000}`, "readings[0].timestamp", "seconds"},
			{`{"zoneId":"gate-a","density":1,"density":9}`, "readings[0].density", "twice"},
			{`{"zoneId":"gate-a","Density":1}`, "readings[0].Density", "case-sensitive"},
			{`{"zoneId":"gate-a","density":21}`, "readings[0].density", "impossible"},
		} {
			code, b := p.postRaw(t, "POST", api+"/readings", c.body)
			var e struct {
				Error struct{ Field, Message string }
			}
			json.Unmarshal([]byte(b), &e)
			if code != 400 || e.Error.Field != c.field || !strings.Contains(e.Error.Message, c.says) {
				t.Errorf("%s: %d %s", c.body, code, b)
			}
		}
		code, b := p.postRaw(t, "POST", api+"/emergency", `{"reason":"x","reason":"y"}`)
		if code != 400 || !strings.Contains(b, `"field":"reason"`) {
			t.Errorf("duplicate reason: %d %s", code, b)
		}
	})

	t.Run("a sensor from the future mutes nothing", func(t *testing.T) {
		// gate-b (moving, critical from 3.0): the zone's own sensor sends a
		// timestamp 119 s ahead now and then; cam-1 is honest. The zone's
		// critical alert must come after its 10 s dwell.
		deadline := time.Now().Add(25 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			now := time.Now().UnixMilli()
			batch := []map[string]any{{"zoneId": "gate-b", "sensorId": "cam-1", "density": 3.5, "timestamp": now}}
			if i%5 == 0 {
				batch = append(batch, map[string]any{"zoneId": "gate-b", "density": 3.5, "timestamp": now + 119_000})
			} else {
				batch = append(batch, map[string]any{"zoneId": "gate-b", "density": 3.5, "timestamp": now})
			}
			p.mustPost(t, batch)
			for _, a := range p.openAlerts(t) {
				if a.ZoneID == "gate-b" && a.Kind == "density" && a.Level == "critical" {
					return
				}
			}
			time.Sleep(time.Second)
		}
		t.Fatal("no critical alert for gate-b within 25 s: a sensor clock muted its zone")
	})

	t.Run("a silent sensor is an alert, and a zone with none shows no data", func(t *testing.T) {
		post := func(sensors ...string) {
			var batch []map[string]any
			for _, s := range sensors {
				batch = append(batch, map[string]any{"zoneId": "stand-east", "sensorId": s, "density": 1.0})
			}
			p.mustPost(t, batch)
		}
		find := func() *wireSensorAlert {
			for _, a := range p.openAlerts(t) {
				if a.ZoneID == "stand-east" && a.Kind == "sensor" && a.SensorID == "door-2" {
					return &a
				}
			}
			return nil
		}
		post("door-1", "door-2")
		var alert *wireSensorAlert
		for deadline := time.Now().Add(8 * time.Second); alert == nil && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			post("door-1")
			alert = find()
		}
		if alert == nil || alert.Level != "watch" {
			t.Fatalf("no sensor alert for door-2: %+v", p.openAlerts(t))
		}
		if r := p.latest(t, "stand-east"); r.Sensors != 1 || r.NoData {
			t.Fatalf("one live sensor left: %+v", r)
		}
		post("door-2")
		if find() != nil {
			t.Fatal("the sensor alert stayed open after door-2 reported again")
		}
		var r wireReading
		for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if r = p.latest(t, "stand-east"); r.NoData {
				break
			}
		}
		if !r.NoData || r.Sensors != 0 {
			t.Fatalf("every sensor silent, yet %+v", r)
		}
	})
}
