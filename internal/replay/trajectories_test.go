package replay

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

const corridorFile = "testdata/uo-180-180-120.txt"

func TestCorridorDensities(t *testing.T) {
	f, err := os.Open(corridorFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ParseTrajectories(f, TrajectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Persons() != 170 {
		t.Errorf("persons = %d, want 170", tr.Persons())
	}
	if d := tr.Duration(); d < 80*time.Second || d > 85*time.Second {
		t.Errorf("duration = %v, want about 82 s", d)
	}
	s := tr.Densities(ClassicArea)
	if ClassicArea.Area() != 3.6 {
		t.Fatalf("classic area = %v m², want 3.6", ClassicArea.Area())
	}
	for i, x := range s {
		if x.Offset != time.Duration(i)*time.Second {
			t.Fatalf("sample %d at %v, want one per second", i, x.Offset)
		}
		if math.Abs(x.Density-x.Count/3.6) > 1e-9 {
			t.Fatalf("sample %d: density %v is not count %v / 3.6", i, x.Density, x.Count)
		}
	}
	peak, at := 0.0, 0
	for i, x := range s {
		if x.Density > peak {
			peak, at = x.Density, i
		}
	}
	if peak < 2.3 || peak > 2.9 {
		t.Errorf("peak %.2f p/m², want about 2.6", peak)
	}
	// Rises: the first occupied seconds are sparse, around 0.3 p/m².
	first := -1
	for i, x := range s {
		if x.Density > 0.1 {
			first = i
			break
		}
	}
	if first < 0 || s[first].Density > 0.6 || first >= at {
		t.Errorf("first occupied second %d (%.2f p/m²), peak at %d: no rise from about 0.3", first, s[first].Density, at)
	}
	// Holds: most of the middle is above the moving zones' warning (2.0).
	above := 0
	for _, x := range s[20:70] {
		if x.Density >= 2.0 {
			above++
		}
	}
	if above < 25 {
		t.Errorf("%d of 50 middle seconds at or above 2 p/m², want most", above)
	}
	// Falls back: the corridor is empty at the end.
	for _, x := range s[len(s)-3:] {
		if x.Density > 0.3 {
			t.Errorf("at %v density %.2f, want the corridor emptied", x.Offset, x.Density)
		}
	}
}

func TestDensitiesCountsAndAverages(t *testing.T) {
	// 4 frames per second, metres; one area 2 m × 1 m.
	in := `# id frame x y z
1 0 0.5 0.5 1.7
2 0 1.5 0.5 1.7
1 1 0.5 0.5 1.7
1 2 0.5 0.5 1.7
3 2 5 5 1.7
1 3 2.0 0.5 1.7

1 4 0.5 0.5
`
	tr, err := ParseTrajectories(strings.NewReader(in), TrajectoryOptions{Unit: "m", FPS: 4})
	if err != nil {
		t.Fatal(err)
	}
	s := tr.Densities(Rect{X0: 2, Y0: 1, X1: 0, Y1: 0}) // corners in any order
	// Second 0: frames 0..3 hold 2, 1, 1, 0 heads inside (x=2.0 is on the
	// open edge): mean 1, density 0.5. Second 1: frame 4 alone, 1 head.
	if len(s) != 2 || s[0].Count != 1 || s[0].Density != 0.5 || s[1].Count != 1 || s[1].Offset != time.Second {
		t.Fatalf("samples %+v", s)
	}
	if tr.Persons() != 3 {
		t.Errorf("persons %d, want 3", tr.Persons())
	}
	// Centimetres by default.
	tr, err = ParseTrajectories(strings.NewReader("1 0 50 50 170\n"), TrajectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := tr.Densities(Rect{0, 0, 1, 1}); len(s) != 1 || s[0].Count != 1 {
		t.Fatalf("cm sample %+v, want the head at (0.5 m, 0.5 m) inside", s)
	}
}

func TestParseTrajectoriesErrors(t *testing.T) {
	tests := []struct {
		name, in string
		opts     TrajectoryOptions
		field    string
	}{
		{"too few columns", "1 0 1\n", TrajectoryOptions{}, "line 1"},
		{"bad frame", "# c\n1 x 1 2 3\n", TrajectoryOptions{}, "line 2, column 2 (frame)"},
		{"bad y", "1 0 1 2 3\n1 1 1 y 3\n", TrajectoryOptions{}, "line 2, column 4 (y)"},
		{"negative frame", "1 -1 1 2 3\n", TrajectoryOptions{}, "line 1, column 2 (frame)"},
		{"non-finite", "1 0 NaN 2 3\n", TrajectoryOptions{}, "line 1"},
		{"bad unit", "1 0 1 2 3\n", TrajectoryOptions{Unit: "ft"}, "unit"},
		{"bad fps", "1 0 1 2 3\n", TrajectoryOptions{FPS: -1}, "fps"},
		{"empty", "# nothing\n", TrajectoryOptions{}, ""},
		{"span too long", "1 0 1 2 3\n1 999999999 1 2 3\n", TrajectoryOptions{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTrajectories(strings.NewReader(tt.in), tt.opts)
			var ce *crowd.Error
			if !errors.As(err, &ce) || ce.Code != crowd.ErrInvalid {
				t.Fatalf("error %v, want an invalid *crowd.Error", err)
			}
			if ce.Field != tt.field {
				t.Errorf("field %q, want %q (%v)", ce.Field, tt.field, err)
			}
		})
	}
}

func TestReadingsAndHold(t *testing.T) {
	base := time.UnixMilli(1_764_270_000_000)
	s := Hold([]Sample{{Offset: 0, Density: 1.23456}, {Offset: time.Second, Density: 0}}, 3*time.Second)
	if len(s) != 5 || s[4].Offset != 4*time.Second || s[4].Density != 0 {
		t.Fatalf("held samples %+v", s)
	}
	r := Readings("c", s, base)
	if *r[0].Density != 1.235 || *r[0].Timestamp != base.UnixMilli() || *r[4].Timestamp != base.UnixMilli()+4000 || r[2].ZoneID != "c" {
		t.Fatalf("readings %+v", r)
	}
}
