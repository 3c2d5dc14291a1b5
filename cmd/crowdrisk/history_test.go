package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type wireHistory struct {
	Resolution string `json:"resolution"`
	Points     []struct {
		Timestamp int64   `json:"timestamp"`
		Density   float64 `json:"density"`
	} `json:"points"`
}

// TestHistoryOutlivesARestart: the real binary stores every judged
// reading in the background; after SIGTERM and a restart on the same data
// directory the history is still served, and the zone shows its last
// reading with its time, as no data, in /density and in /metrics.
func TestHistoryOutlivesARestart(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	p := start(t, addr, dir, "--simulate=false")
	readings := series("gate-a", []float64{0.5, 0.75, 1, 1.25, 1.5})
	if code, body := p.post(t, api+"/readings", readings); code != http.StatusAccepted {
		t.Fatalf("post readings: %d %s", code, body)
	}
	last := readings[len(readings)-1]["timestamp"].(int64)
	var h wireHistory
	deadline := time.Now().Add(10 * time.Second)
	for { // written once a second
		p.getJSON(t, api+"/zones/gate-a/history", &h)
		if len(h.Points) == len(readings) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if h.Resolution != "raw" || len(h.Points) != len(readings) || h.Points[4].Timestamp != last {
		t.Fatalf("history before the restart = %+v; want the %d readings", h, len(readings))
	}
	p.stop(t)

	q := start(t, addr, dir, "--simulate=false")
	var again wireHistory
	q.getJSON(t, api+"/zones/gate-a/history", &again)
	if len(again.Points) != len(readings) {
		t.Errorf("history after the restart has %d points; want %d", len(again.Points), len(readings))
	}
	var all []struct {
		wireReading
		Timestamp int64 `json:"timestamp"`
	}
	q.getJSON(t, api+"/density", &all)
	found := false
	for _, r := range all {
		if r.ZoneID == "gate-a" {
			found = true
			if !r.NoData || r.Timestamp != last || r.Sensors != 0 {
				t.Errorf("gate-a after the restart = %+v; want its last reading (at %d) as no data", r, last)
			}
		}
	}
	if !found {
		t.Fatal("gate-a has no reading after the restart")
	}
	res, err := http.Get(q.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), `crowdrisk_zone_no_data{zone="gate-a"} 1`) {
		t.Error(`/metrics lacks crowdrisk_zone_no_data{zone="gate-a"} 1 after the restart`)
	}
}
