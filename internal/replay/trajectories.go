// Package replay turns recorded crowds into readings and feeds them to an
// engine at any speed: pedestrian trajectories (the Jülich format) over a
// measurement area, or a plain CSV of zone readings. It implements the
// `crowdrisk replay FILE` subcommand.
package replay

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// TrajectoryOptions say how to read a trajectory file.
type TrajectoryOptions struct {
	Unit string  // "cm" (default) or "m": the unit of x and y
	FPS  float64 // frames per second; default 16
}

// Trajectories are head positions per frame, in metres.
type Trajectories struct {
	fps        float64
	firstFrame int
	frames     [][]point // frames[i] is frame firstFrame+i
	persons    int
}

type point struct{ x, y float64 }

// Rect is an axis-parallel measurement area in metres.
type Rect struct{ X0, Y0, X1, Y1 float64 }

// ClassicArea is the measurement area of the corridor experiments: the full
// 1.8 m width, 2 m long just before the centre line (3.6 m²).
var ClassicArea = Rect{X0: 0, Y0: -2, X1: 1.8, Y1: 0}

// Area returns the rectangle's area in m².
func (r Rect) Area() float64 { return math.Abs(r.X1-r.X0) * math.Abs(r.Y1-r.Y0) }

func (r Rect) normal() Rect {
	return Rect{math.Min(r.X0, r.X1), math.Min(r.Y0, r.Y1), math.Max(r.X0, r.X1), math.Max(r.Y0, r.Y1)}
}

// contains is half-open, so a head on a shared edge of two adjacent areas
// is counted once.
func (r Rect) contains(p point) bool {
	return p.x >= r.X0 && p.x < r.X1 && p.y >= r.Y0 && p.y < r.Y1
}

// Sample is the density over a measurement area during one second.
type Sample struct {
	Offset  time.Duration // from the first frame of the recording
	Density float64       // persons per m²: Count / area
	Count   float64       // mean heads inside the area over the second's frames
}

// maxFrames bounds a recording (a day at 25 fps) so a corrupt frame number
// cannot make us allocate gigabytes.
const maxFrames = 24 * 3600 * 25

// ParseTrajectories reads `id frame x y [z]` lines, whitespace separated.
// Blank lines and lines starting with # are skipped. Errors name the line
// and the column.
func ParseTrajectories(r io.Reader, opts TrajectoryOptions) (*Trajectories, error) {
	scale, err := unitScale(opts.Unit)
	if err != nil {
		return nil, err
	}
	fps := opts.FPS
	if fps == 0 {
		fps = 16
	}
	if fps < 0 || math.IsNaN(fps) || math.IsInf(fps, 0) {
		return nil, crowd.Invalidf("fps", "must be a positive number of frames per second")
	}
	type row struct {
		frame int
		p     point
	}
	var rows []row
	ids := map[int]bool{}
	minF, maxF := math.MaxInt, math.MinInt
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 4 || len(f) > 5 {
			return nil, crowd.Invalidf(fmt.Sprintf("line %d", line), "want 4 or 5 columns (id frame x y [z]), got %d", len(f))
		}
		id, err1 := strconv.Atoi(f[0])
		frame, err2 := strconv.Atoi(f[1])
		x, err3 := strconv.ParseFloat(f[2], 64)
		y, err4 := strconv.ParseFloat(f[3], 64)
		for col, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				return nil, crowd.Invalidf(fmt.Sprintf("line %d, column %d (%s)", line, col+1, [...]string{"id", "frame", "x", "y"}[col]),
					"%q is not a number", f[col])
			}
		}
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			return nil, crowd.Invalidf(fmt.Sprintf("line %d", line), "x and y must be finite")
		}
		if frame < 0 {
			return nil, crowd.Invalidf(fmt.Sprintf("line %d, column 2 (frame)", line), "must not be negative")
		}
		ids[id] = true
		minF, maxF = min(minF, frame), max(maxF, frame)
		rows = append(rows, row{frame, point{x * scale, y * scale}})
	}
	if err := sc.Err(); err != nil {
		return nil, crowd.Errorf(crowd.ErrInvalid, "reading trajectories: %v", err)
	}
	if len(rows) == 0 {
		return nil, crowd.Errorf(crowd.ErrInvalid, "no trajectory lines found")
	}
	if maxF-minF >= maxFrames {
		return nil, crowd.Errorf(crowd.ErrInvalid, "frames %d to %d span more than a day", minF, maxF)
	}
	t := &Trajectories{fps: fps, firstFrame: minF, frames: make([][]point, maxF-minF+1), persons: len(ids)}
	for _, r := range rows {
		i := r.frame - minF
		t.frames[i] = append(t.frames[i], r.p)
	}
	return t, nil
}

func unitScale(unit string) (float64, error) {
	switch unit {
	case "", "cm":
		return 0.01, nil
	case "m":
		return 1, nil
	}
	return 0, crowd.Invalidf("unit", "must be \"cm\" or \"m\", not %q", unit)
}

// Persons returns how many distinct ids the recording has.
func (t *Trajectories) Persons() int { return t.persons }

// Duration returns the time from the first frame to the end of the last.
func (t *Trajectories) Duration() time.Duration {
	return time.Duration(float64(len(t.frames)) / t.fps * float64(time.Second))
}

// Densities counts the heads inside area in every frame and averages them
// per second, as the classic measurement does. A final partial second is
// averaged over the frames it has.
func (t *Trajectories) Densities(area Rect) []Sample {
	area = area.normal()
	a := area.Area()
	if a == 0 {
		return nil
	}
	sums := map[int]float64{}
	frames := map[int]int{}
	for i, pts := range t.frames {
		sec := int(float64(i) / t.fps)
		n := 0
		for _, p := range pts {
			if area.contains(p) {
				n++
			}
		}
		sums[sec] += float64(n)
		frames[sec]++
	}
	secs := make([]int, 0, len(frames))
	for s := range frames {
		secs = append(secs, s)
	}
	sort.Ints(secs)
	out := make([]Sample, 0, len(secs))
	for _, s := range secs {
		c := sums[s] / float64(frames[s])
		out = append(out, Sample{Offset: time.Duration(s) * time.Second, Count: c, Density: c / a})
	}
	return out
}

// Readings stamps samples for one zone: base plus each sample's offset, in
// ms since the epoch, density rounded to 0.001 p/m².
func Readings(zoneID string, samples []Sample, base time.Time) []crowd.ReadingInput {
	out := make([]crowd.ReadingInput, len(samples))
	for i, s := range samples {
		ts := base.Add(s.Offset).UnixMilli()
		d := math.Round(s.Density*1000) / 1000
		out[i] = crowd.ReadingInput{ZoneID: zoneID, Density: &d, Timestamp: &ts}
	}
	return out
}
