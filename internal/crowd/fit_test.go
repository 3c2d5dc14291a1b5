package crowd

import (
	"math"
	"testing"
	"time"
)

func TestTheilSen(t *testing.T) {
	line := func(n int, slope float64, outliers map[int]float64) []fitPoint {
		var pts []fitPoint
		for i := range n {
			v := 1 + slope*float64(i*10)
			if o, ok := outliers[i]; ok {
				v = o
			}
			pts = append(pts, fitPoint{t0.Add(time.Duration(i*10) * time.Second), v})
		}
		return pts
	}
	cases := []struct {
		name      string
		pts       []fitPoint
		ok        bool
		slope, v0 float64
	}{
		{"exact line", line(30, 0.002, nil), true, 0.002, 1},
		// Eight of thirty points are camera glitches (zero or double).
		{"a quarter outliers do not move it", line(30, 0.002, map[int]float64{2: 0, 5: 9, 9: 0, 13: 9, 17: 0, 21: 9, 25: 0, 28: 9}), true, 0.002, 1},
		{"flat", line(10, 0, nil), true, 0, 1},
		{"too few points", line(2, 0.002, nil), false, 0, 0},
		{"all at one time", []fitPoint{{t0, 1}, {t0, 2}, {t0, 3}}, false, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := theilSen(c.pts)
			if l.ok != c.ok {
				t.Fatalf("ok %v, want %v", l.ok, c.ok)
			}
			if c.ok && (math.Abs(l.slope-c.slope) > 1e-9 || math.Abs(l.v0-c.v0) > 1e-9) {
				t.Fatalf("fit slope %g v0 %g, want %g %g", l.slope, l.v0, c.slope, c.v0)
			}
		})
	}
}

func TestLineCrossing(t *testing.T) {
	l := line{t0: t0, v0: 1, slope: 0.01, ok: true}
	if at, ahead := l.crossing(2, t0); !ahead || !at.Equal(t0.Add(100*time.Second)) {
		t.Fatalf("crossing %v %v", at, ahead)
	}
	if _, ahead := l.crossing(2, t0.Add(200*time.Second)); ahead {
		t.Fatal("a crossing in the past is ahead")
	}
	if _, ahead := (line{t0: t0, v0: 1, slope: -0.01, ok: true}).crossing(2, t0); ahead {
		t.Fatal("a falling line crosses upwards")
	}
	if _, ahead := (line{t0: t0, v0: 1, slope: 1e-12, ok: true}).crossing(2, t0); ahead {
		t.Fatal("a crossing centuries away is reported")
	}
}
