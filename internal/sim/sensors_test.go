package sim

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/venue"
)

// The demo's large zones are watched by two or three cameras, each reading
// the zone's curve with its own small error; the others by one, which is
// the zone itself.
func TestDemoCameras(t *testing.T) {
	v := venue.Demo()
	s := New(v, Options{Seed: 2, Start: epoch})
	cams := map[string]int{}
	for _, z := range s.zones {
		cams[z.zone.ID] = z.sensors
	}
	for id, want := range map[string]int{
		"fan-zone": 3, "pitch-rear": 3, "pitch-front": 2, "concourse-north": 2, "concourse-south": 2,
		"gate-a": 1, "stairs-station": 1,
	} {
		if cams[id] != want {
			t.Errorf("%s: %d cameras, want %d", id, cams[id], want)
		}
	}

	// Over the show, each camera of the fan zone and the rear pitch stays
	// within a few per cent of the zone's mean, and no two read the same.
	g := newGauge(s)
	for _, id := range []string{"fan-zone", "pitch-rear"} {
		per := map[string][]float64{}
		for sec := int(0.35 * 1200); sec < int(0.45*1200); sec++ {
			for _, r := range s.Step(epoch.Add(time.Duration(sec) * time.Second)) {
				if r.ZoneID == id {
					per[r.SensorID] = append(per[r.SensorID], g.value(r))
				}
			}
		}
		if len(per) != cams[id] {
			t.Fatalf("%s: readings from %v, want %d cameras", id, keys(per), cams[id])
		}
		var all []float64
		for _, ds := range per {
			all = append(all, mean(ds))
		}
		m := mean(all)
		for cam, ds := range per {
			if dev := math.Abs(mean(ds)-m) / m; dev > 0.08 {
				t.Errorf("%s/%s: mean %.3f is %.0f %% off the zone's %.3f", id, cam, mean(ds), dev*100, m)
			}
		}
		if reflect.DeepEqual(per["cam-1"], per["cam-2"]) {
			t.Errorf("%s: cam-1 and cam-2 read alike: no independent noise", id)
		}
	}
}

// dropouts returns the silent spans of the dropout camera over [0, d) after
// the start, second by second, as seen in Step's readings.
func dropouts(t *testing.T, s *Simulator, d time.Duration) [][2]time.Duration {
	t.Helper()
	zone, cam := s.DropoutSensor()
	var spans [][2]time.Duration
	silentSince := time.Duration(-1)
	for at := time.Duration(0); at < d; at += time.Second {
		seen := 0
		for _, r := range s.Step(epoch.Add(at)) {
			if r.ZoneID == zone {
				seen++
				if r.SensorID == cam {
					seen += 100
				}
			}
		}
		silent := seen < 100
		if silent != s.Silent(epoch.Add(at)) {
			t.Fatalf("at %v: Step and Silent disagree (silent in Step: %v)", at, silent)
		}
		if silent && seen == 0 {
			t.Fatalf("at %v: the whole zone %s is silent, want only %s", at, zone, cam)
		}
		switch {
		case silent && silentSince < 0:
			silentSince = at
		case !silent && silentSince >= 0:
			spans = append(spans, [2]time.Duration{silentSince, at})
			silentSince = -1
		}
	}
	return spans
}

// One camera drops out for about 90 s (longer than the default 60 s sensor
// timeout), first within two minutes of the start, then about every eight
// minutes: a new user sees a sensor alert early, and again now and then.
func TestDropoutSchedule(t *testing.T) {
	s := New(venue.Demo(), Options{Seed: 1, Start: epoch})
	zone, cam := s.DropoutSensor()
	if zone != "fan-zone" || cam != "cam-3" {
		t.Fatalf("dropout camera %s/%s, want fan-zone/cam-3", zone, cam)
	}
	spans := dropouts(t, s, time.Hour)
	if len(spans) < 6 || len(spans) > 8 {
		t.Fatalf("%d dropouts in an hour, want about one every 8 minutes: %v", len(spans), spans)
	}
	const sensorTimeout = 60 * time.Second // the engine's default
	if first := spans[0][0]; first+sensorTimeout > 2*time.Minute || first < 10*time.Second {
		t.Errorf("first dropout at %v: want a sensor alert (60 s of silence) within the first two minutes", first)
	}
	for i, sp := range spans {
		if d := sp[1] - sp[0]; d != dropoutFor {
			t.Errorf("dropout %d silent for %v, want %v", i, d, dropoutFor)
		}
		if d := sp[1] - sp[0]; d < sensorTimeout+20*time.Second {
			t.Errorf("dropout %d: %v of silence is too short to pass a 60 s sensor timeout and be seen", i, d)
		}
		if i > 0 {
			if gap := sp[0] - spans[i-1][0]; gap < 7*time.Minute || gap > 9*time.Minute {
				t.Errorf("dropout %d begins %v after the one before, want about 8 minutes", i, gap)
			}
		}
	}
	// A pure function of the seed and the time: the same spans again, from
	// another simulator with the seed; another seed moves the later ones.
	if again := dropouts(t, New(venue.Demo(), Options{Seed: 1, Start: epoch}), time.Hour); !reflect.DeepEqual(again, spans) {
		t.Errorf("same seed, other dropouts:\n%v\n%v", spans, again)
	}
	if other := dropouts(t, New(venue.Demo(), Options{Seed: 2, Start: epoch}), time.Hour); reflect.DeepEqual(other, spans) {
		t.Error("another seed gives the same dropout times")
	} else if other[0] != spans[0] {
		t.Errorf("the first dropout moved with the seed (%v, %v): it must always come early", other[0], spans[0])
	}
	// A venue without a zone several cameras watch has no dropout.
	small := New(crowd.Venue{Zones: []crowd.Zone{{ID: "gate", Kind: crowd.Moving, AreaM2: 50}}}, Options{Seed: 1, Start: epoch})
	if z, _ := small.DropoutSensor(); z != "" || small.Silent(epoch.Add(dropoutFirst)) {
		t.Errorf("a one-camera venue has dropout zone %q", z)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
