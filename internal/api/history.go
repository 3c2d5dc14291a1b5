package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// HistorySource is the stored density history (the store itself: any
// instance reads it, only the leader writes it).
type HistorySource interface {
	DensityPoints(ctx context.Context, f store.HistoryFilter) ([]store.DensityPoint, error)
	DensityMinutes(ctx context.Context, f store.HistoryFilter) ([]store.DensityMinute, error)
}

// MaxHistoryPoints caps one answer of GET /zones/{id}/history; a longer
// range says "truncated" and where to continue ("next").
const MaxHistoryPoints = 10000

// DefaultHistorySpan is the range when from is not given; DefaultHistoryRaw
// the raw retention when Options.HistoryRaw is not set (the engine's).
const (
	DefaultHistorySpan = time.Hour
	DefaultHistoryRaw  = time.Hour
)

// HistoryPoint is one reading of a raw history answer.
type HistoryPoint struct {
	Timestamp int64       `json:"timestamp"`
	Density   float64     `json:"density"`
	Smoothed  float64     `json:"smoothed"`
	Level     crowd.Level `json:"level"`
	Sensors   int         `json:"sensors"`
	NoData    bool        `json:"noData,omitempty"`
}

// Spread is the lowest, highest and mean value of a minute.
type Spread struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// HistoryMinute is one minute of an aggregated history answer.
type HistoryMinute struct {
	Timestamp int64       `json:"timestamp"` // start of the minute
	Density   Spread      `json:"density"`
	Smoothed  Spread      `json:"smoothed"`
	Level     crowd.Level `json:"level"` // the worst of the minute
	Sensors   struct {
		Min int `json:"min"`
		Max int `json:"max"`
	} `json:"sensors"`
	Readings int `json:"readings"`
}

// HistoryAnswer is the body of GET /zones/{id}/history.
type HistoryAnswer struct {
	ZoneID string `json:"zoneId"`
	From   int64  `json:"from"`
	To     int64  `json:"to"`
	// Resolution is "raw" (a zone's worst judged reading of each second:
	// Points are HistoryPoint)
	// or "minute" (Points are HistoryMinute).
	Resolution string `json:"resolution"`
	Points     any    `json:"points"`
	// Truncated says the range holds more than MaxHistoryPoints; Next is
	// the from of the request that continues it.
	Truncated bool   `json:"truncated"`
	Next      *int64 `json:"next,omitempty"`
}

// zoneHistory serves GET /zones/{id}/history?from=<ms>&to=<ms>: the
// per-second points when the whole range lies within the raw retention,
// one-minute aggregates when it reaches further back.
func (s *server) zoneHistory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !s.knownZone(id) {
		return &crowd.Error{Code: crowd.ErrNotFound, Field: "id", Message: "unknown zone " + strconv.Quote(id)}
	}
	now := s.now().UnixMilli()
	q := r.URL.Query()
	to, err := msParam(q.Get("to"), "to", now)
	if err != nil {
		return err
	}
	from, err := msParam(q.Get("from"), "from", to-DefaultHistorySpan.Milliseconds())
	if err != nil {
		return err
	}
	if from >= to {
		return crowd.Invalidf("to", "must be after from (%d)", from)
	}
	f := store.HistoryFilter{ZoneID: id, From: from, To: to, Limit: MaxHistoryPoints + 1}
	ans := HistoryAnswer{ZoneID: id, From: from, To: to}
	raw := s.opts.HistoryRaw
	if raw <= 0 {
		raw = DefaultHistoryRaw
	}
	if from >= now-raw.Milliseconds() {
		ans.Resolution = "raw"
		ps, err := s.opts.History.DensityPoints(r.Context(), f)
		if err != nil {
			return err
		}
		ps, ans.Truncated, ans.Next = page(ps, func(p store.DensityPoint) int64 { return p.At })
		out := make([]HistoryPoint, len(ps))
		for i, p := range ps {
			out[i] = HistoryPoint{Timestamp: p.At, Density: p.Density, Smoothed: p.Smoothed, Level: p.Level,
				Sensors: p.Sensors, NoData: p.NoData}
		}
		ans.Points = out
	} else {
		ans.Resolution = "minute"
		// The minute that holds from counts: its row starts before from.
		f.From = from - from%60000
		ms, err := s.opts.History.DensityMinutes(r.Context(), f)
		if err != nil {
			return err
		}
		ms, ans.Truncated, ans.Next = page(ms, func(m store.DensityMinute) int64 { return m.Minute })
		out := make([]HistoryMinute, len(ms))
		for i, m := range ms {
			out[i] = minuteOut(m)
		}
		ans.Points = out
	}
	writeJSON(w, http.StatusOK, ans) // Cache-Control: no-store, as every JSON answer
	return nil
}

// page cuts a result fetched with MaxHistoryPoints+1 to the cap. A cut
// never splits one millisecond's points (several sensors' readings), so
// continuing from next repeats none and skips none.
func page[T any](items []T, at func(T) int64) ([]T, bool, *int64) {
	if len(items) <= MaxHistoryPoints {
		return items, false, nil
	}
	next := at(items[MaxHistoryPoints])
	n := MaxHistoryPoints
	for n > 0 && at(items[n-1]) == next {
		n--
	}
	if n == 0 { // more than the cap in one millisecond: send the cap, skip that ms's rest
		n = MaxHistoryPoints
		next++
	}
	return items[:n], true, &next
}

func minuteOut(m store.DensityMinute) HistoryMinute {
	n := float64(m.Count)
	out := HistoryMinute{
		Timestamp: m.Minute,
		Density:   Spread{Min: m.DensityMin, Max: m.DensityMax, Mean: m.DensitySum / n},
		Smoothed:  Spread{Min: m.SmoothedMin, Max: m.SmoothedMax, Mean: m.SmoothedSum / n},
		Level:     m.Level,
		Readings:  m.Count,
	}
	out.Sensors.Min, out.Sensors.Max = m.SensorsMin, m.SensorsMax
	return out
}

// msParam reads an optional time in ms since the epoch. As for readings, a
// value below 1e12 is refused: it is seconds, not milliseconds.
func msParam(v, field string, def int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1e12 || n > 1e14 {
		return 0, crowd.Invalidf(field, "must be a time in milliseconds since the epoch (13 digits), got %q", v)
	}
	return n, nil
}
