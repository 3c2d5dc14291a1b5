package crowd

import (
	"slices"
	"time"
)

// fitPointsPerWindow is how many points the robust fits see per window. The
// smoothed series is sampled once per bucket (the last smoothed value of
// each) so that a Theil–Sen fit costs O(n²) on ~30 points every bucket, not
// on every reading: ingest must stay cheap at tens of thousands of readings
// per second.
const fitPointsPerWindow = 30

type fitPoint struct {
	at time.Time
	v  float64
}

// fitSeries keeps the bucketed smoothed densities of one zone and the robust
// fits recomputed each time a bucket closes.
type fitSeries struct {
	width  time.Duration // bucket width
	keep   time.Duration // history kept
	closed []fitPoint    // one point per closed bucket, oldest first
	bucket int64         // index of the open bucket
	has    bool
	// The open bucket's running sums: a closed bucket is the mean time and
	// mean smoothed value of its readings. The smoothed values are medians
	// already (robust to glitches); averaging them takes out the jitter a
	// median keeps, which a 15-minute extrapolation would multiply.
	sumT, sumV float64
	n          int

	trend    float64 // slope per minute over the trend window, 0 when unknown
	trendOK  bool    // the trend window is (nearly) covered by points
	forecast line    // fit over the forecast window
}

// line is v(t) = v0 + slope·(t−t0) with slope per second; ok is false when
// too few points support it.
type line struct {
	t0    time.Time
	v0    float64
	slope float64
	ok    bool
}

func newFitSeries(r Rules) fitSeries {
	window := min(r.ForecastWindow, r.TrendSustain)
	width := max(window/fitPointsPerWindow, time.Second)
	return fitSeries{width: width, keep: max(r.ForecastWindow, r.TrendSustain)}
}

// add records a smoothed value and refits when it opens a new bucket.
func (s *fitSeries) add(at time.Time, v float64, r Rules) {
	b := at.UnixMilli() / s.width.Milliseconds()
	if s.has && b != s.bucket {
		n := float64(s.n)
		s.closed = append(s.closed, fitPoint{time.UnixMilli(int64(s.sumT / n)), s.sumV / n})
		s.prune(at)
		s.refit(at, r)
		s.sumT, s.sumV, s.n = 0, 0, 0
	}
	s.bucket, s.has = b, true
	s.sumT += float64(at.UnixMilli())
	s.sumV += v
	s.n++
}

func (s *fitSeries) prune(now time.Time) {
	drop := 0
	for drop < len(s.closed) && now.Sub(s.closed[drop].at) > s.keep {
		drop++
	}
	s.closed = slices.Delete(s.closed, 0, drop)
}

// refit recomputes the trend and forecast fits over the closed buckets.
func (s *fitSeries) refit(now time.Time, r Rules) {
	trendPts := s.since(now.Add(-r.TrendSustain))
	trendFit := theilSen(trendPts)
	s.trend, s.trendOK = 0, false
	if trendFit.ok {
		s.trend = trendFit.slope * 60
		span := trendPts[len(trendPts)-1].at.Sub(trendPts[0].at)
		// Covered: a bucket or two short of the window still counts.
		s.trendOK = span >= r.TrendSustain-2*s.width
	}
	pts := s.since(now.Add(-r.ForecastWindow))
	s.forecast = line{}
	// A forecast needs a (nearly) full window: from a couple of minutes of
	// a people counter's noise, a fit extrapolated fifteen minutes ahead is
	// off by more than the 10 % an operator can plan with.
	if len(pts) >= 5 && pts[len(pts)-1].at.Sub(pts[0].at) >= r.ForecastWindow-2*s.width {
		if len(pts) == len(trendPts) {
			s.forecast = trendFit // same window (the default): fit once
		} else {
			s.forecast = theilSen(pts)
		}
	}
}

func (s *fitSeries) since(t time.Time) []fitPoint {
	i, _ := slices.BinarySearchFunc(s.closed, t, func(p fitPoint, t time.Time) int { return p.at.Compare(t) })
	return s.closed[i:]
}

// theilSen fits a line robustly: the slope is the median of the slopes of
// all pairs of points, the intercept the median of the residual offsets. Up
// to ~29 % of the points may be outliers without moving it, which a least-
// squares fit over a camera's miscounts would not survive.
func theilSen(pts []fitPoint) line {
	if len(pts) < 3 {
		return line{}
	}
	t0 := pts[0].at
	x := func(p fitPoint) float64 { return p.at.Sub(t0).Seconds() }
	slopes := make([]float64, 0, len(pts)*(len(pts)-1)/2)
	for i := range pts {
		for j := i + 1; j < len(pts); j++ {
			if dx := x(pts[j]) - x(pts[i]); dx > 0 {
				slopes = append(slopes, (pts[j].v-pts[i].v)/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return line{}
	}
	slope := median(slopes)
	offsets := make([]float64, len(pts))
	for i, p := range pts {
		offsets[i] = p.v - slope*x(p)
	}
	return line{t0: t0, v0: median(offsets), slope: slope, ok: true}
}

// at evaluates the line at t.
func (l line) at(t time.Time) float64 { return l.v0 + l.slope*t.Sub(l.t0).Seconds() }

// crossing is when the line reaches v, and whether it does so after now.
func (l line) crossing(v float64, now time.Time) (time.Time, bool) {
	if !l.ok || l.slope <= 0 {
		return time.Time{}, false
	}
	secs := (v - l.v0) / l.slope
	if secs > 1e9 { // decades away: no forecast, and no Duration overflow
		return time.Time{}, false
	}
	at := l.t0.Add(time.Duration(secs * float64(time.Second)))
	return at, at.After(now)
}
