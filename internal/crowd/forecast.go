package crowd

import "time"

// forecastNext is the expected crossing of the next threshold above both the
// zone's judged level and the level its smoothed density already classifies
// as: while a level's dwell runs, its crossing is in the past, and the
// operator wants to know about the one after it.
func forecastNext(s *fitSeries, bands Thresholds, level Level, smoothed float64, now time.Time, r Rules) *Forecast {
	next := max(level, bands.Classify(smoothed)) + 1
	if next > Emergency {
		return nil
	}
	// A rise under a quarter of the trend rate is within the noise of a
	// people counter: extrapolating it would promise a crossing that the
	// next refit takes back.
	if s.forecast.slope*60 < r.TrendRate/4 {
		return nil
	}
	at, ahead := s.forecast.crossing(bands.Entry(next), now)
	if !ahead || at.Sub(now) > r.ForecastLimit {
		return nil
	}
	return &Forecast{
		Level:   next,
		Minutes: at.Sub(now).Minutes(),
		At:      at.UnixMilli(),
	}
}
