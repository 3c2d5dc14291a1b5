package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sensorFeed posts a batch of readings every 500 ms, as the sensors of a
// venue would: every zone of the demo venue once (the zone is its own
// sensor), except those given sensors of their own, which post one reading
// per live sensor, and those left out, which never post. Readings carry no
// timestamp: the engine stamps them, so no clock of the test's matters.
type sensorFeed struct {
	t       *testing.T
	e       *engine
	mu      sync.Mutex
	zones   []string
	density map[string]float64            // zone -> density posted by its sensors
	sensors map[string]map[string]float64 // zone -> live sensor -> density
	silent  map[string]bool               // zone -> every sensor silent
	never   map[string]bool               // zone -> never posts
}

func (f *sensorFeed) batch() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, z := range f.zones {
		if f.never[z] || f.silent[z] {
			continue
		}
		if s, ok := f.sensors[z]; ok {
			for id, d := range s {
				out = append(out, map[string]any{"zoneId": z, "sensorId": id, "density": d})
			}
			continue
		}
		out = append(out, map[string]any{"zoneId": z, "density": f.density[z]})
	}
	return out
}

func (f *sensorFeed) post() error {
	body, _ := json.Marshal(f.batch())
	req, _ := http.NewRequest(http.MethodPost, f.e.url("/api/crowd-risk/readings"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	f.e.authorize(req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		return fmt.Errorf("POST readings: %d %s", res.StatusCode, b.String())
	}
	return nil
}

// run posts until the test ends; a refused batch fails the test.
func (f *sensorFeed) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	f.t.Cleanup(func() { cancel(); <-done })
	if err := f.post(); err != nil {
		f.t.Fatal(err)
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := f.post(); err != nil && ctx.Err() == nil {
				f.t.Errorf("feeding readings: %v", err)
				return
			}
		}
	}()
}

func (f *sensorFeed) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// shortTimeoutVenue writes the demo venue with every zone's sensor timeout
// set to timeout (the venue file's per-zone rules.sensorTimeout) and
// returns the file's path.
func shortTimeoutVenue(t *testing.T, timeout string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "internal", "venue", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for _, z := range v["zones"].([]any) {
		z := z.(map[string]any)
		rules, _ := z["rules"].(map[string]any)
		if rules == nil {
			rules = map[string]any{}
		}
		rules["sensorTimeout"] = timeout
		z["rules"] = rules
	}
	out, _ := json.Marshal(v)
	file := filepath.Join(t.TempDir(), "venue.json")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// Issue 11 on the monitor: a zone's card and map shape say how many
// sensors its density fuses; a sensor that falls silent for the sensor
// timeout (3 s here) raises a sensor alert naming it, resolved when it
// reports again; a zone whose every sensor is silent shows "no data" with
// the age of its last reading, counting up, never its stale normal level;
// and a zone that never reported shows "no data" from the start.
func TestSensorAlertAndNoDataZone(t *testing.T) {
	t.Parallel() // mostly waiting on timers: overlaps the other waiting tests
	b := newBrowser(t)
	e := startEngine(t, buildEngine(t), "--simulate=false", "--venue", shortTimeoutVenue(t, "3s"))
	var zones []struct {
		ID string `json:"id"`
	}
	res, err := http.Get(e.url("/api/crowd-risk/zones"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(res.Body).Decode(&zones); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	f := &sensorFeed{t: t, e: e, density: map[string]float64{},
		sensors: map[string]map[string]float64{
			"fan-zone":    {"cam-1": 1.0, "cam-2": 1.1},
			"gate-b":      {"door-1": 0.5, "door-2": 0.6},
			"pitch-front": {"cam-1": 2.2, "cam-2": 2.4},
		},
		silent: map[string]bool{},
		never:  map[string]bool{"station-platform": true},
	}
	for i, z := range zones {
		f.zones = append(f.zones, z.ID)
		f.density[z.ID] = 0.3 + 0.1*float64(i%6)
	}
	f.run()

	tab := b.root
	do(t, tab, 30*time.Second, chromedp.Navigate(e.url(monitorPath)))
	waitFor(t, tab, 10*time.Second, "monitor connected", stateIs("connected", "connected"))
	card := func(zone string) string { return `document.querySelector('#zones .zone[data-zone="` + zone + `"]')` }
	shape := func(zone string) string {
		return `document.querySelector('#venue-map .map-zone[data-zone="` + zone + `"]')`
	}

	// Sensor counts, from the engine's fusion.
	waitFor(t, tab, 10*time.Second, "fan zone fusing 2 sensors",
		card("fan-zone")+`?.dataset.sensors === '2' && `+card("fan-zone")+`.textContent.includes('2 sensors')`)
	waitFor(t, tab, 5*time.Second, "a one-sensor zone saying so", card("gate-a")+`?.textContent.includes('1 sensor')`)
	if got := eval[string](t, tab, shape("fan-zone")+`.querySelector('title').textContent`); !bytes.Contains([]byte(got), []byte("2 sensors")) {
		t.Errorf("fan zone on the map: %q, want its sensor count", got)
	}
	// A zone that never reported is "no data" from the start, never normal.
	noData := func(zone string) string {
		return `(c => c && c.dataset.nodata === 'true' && c.dataset.level === 'nodata' && c.querySelector('.level-badge').textContent === 'NO DATA')(` + card(zone) + `) && ` +
			`(m => m && m.dataset.nodata === 'true' && m.dataset.level === 'nodata')(` + shape(zone) + `)`
	}
	waitFor(t, tab, 5*time.Second, "the never-reporting platform shown as no data", noData("station-platform")+
		` && `+card("station-platform")+`.textContent.includes('no data · no reading yet')`)

	// One camera of the fan zone falls silent; every sensor of gate B too.
	f.set(func() {
		delete(f.sensors["fan-zone"], "cam-2")
		f.silent["gate-b"] = true
	})
	stopped := time.Now()
	sensorAlert := `[...document.querySelectorAll('#alerts .alert[data-kind="sensor"]')].find(a => a.dataset.sensor === 'cam-2' && a.querySelector('.alert-zone')?.textContent === 'Fan zone')`
	took := waitFor(t, tab, 15*time.Second, "the sensor alert naming cam-2 of the fan zone", sensorAlert+` !== undefined`)
	t.Logf("sensor alert on the monitor %v after the sensor stopped (timeout 3 s)", took)
	if got := eval[string](t, tab, sensorAlert+`.dataset.level`); got != "watch" {
		t.Errorf("sensor alert level %q, want watch", got)
	}
	if got := eval[string](t, tab, sensorAlert+`.textContent`); !bytes.Contains([]byte(got), []byte("cam-2")) {
		t.Errorf("sensor alert %q does not name the sensor", got)
	}
	waitFor(t, tab, 10*time.Second, "the fan zone fusing its one live sensor", card("fan-zone")+`.dataset.sensors === '1' && `+card("fan-zone")+`.dataset.nodata === 'false'`)

	waitFor(t, tab, 15*time.Second, "gate B shown as no data", noData("gate-b")+
		` && /no data · last reading \d+ s ago/.test(`+card("gate-b")+`.textContent)`)
	t.Logf("gate B no data on the monitor %v after its sensors stopped", time.Since(stopped))
	// No zone marked no data wears a level, on the cards or on the map.
	if bad := eval[string](t, tab, `[...document.querySelectorAll('[data-nodata="true"]')].filter(e => e.dataset.level !== 'nodata').map(e => e.dataset.zone).join(',')`); bad != "" {
		t.Errorf("no-data zones shown with a level: %s", bad)
	}
	// The age counts up with no message at all.
	age := `Number(/last reading (\d+) s ago/.exec(` + card("gate-b") + `.querySelector('.zone-nodata').textContent)[1])`
	first := eval[float64](t, tab, age)
	waitFor(t, tab, 5*time.Second, "gate B's age counting up", fmt.Sprintf("%s >= %v", age, first+2))
	if got := eval[string](t, tab, `document.getElementById('zones-summary').textContent`); !bytes.Contains([]byte(got), []byte("2 no data")) {
		t.Errorf("zones summary %q, want the 2 no-data zones counted", got)
	}
	screenshot(t, tab, "sensor-alert-and-no-data")

	// Back: the sensor alert resolves, the next real reading clears no data.
	f.set(func() {
		f.sensors["fan-zone"]["cam-2"] = 1.1
		delete(f.silent, "gate-b")
	})
	waitFor(t, tab, 10*time.Second, "the sensor alert resolved", sensorAlert+` === undefined`)
	waitFor(t, tab, 10*time.Second, "gate B live again", card("gate-b")+`.dataset.nodata === 'false' && `+card("gate-b")+`.dataset.level === 'normal' && `+card("gate-b")+`.dataset.sensors === '2'`)
	screenshot(t, tab, "sensors-back")
}
