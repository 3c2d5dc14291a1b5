package store

import (
	"context"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Density history (issue 13): what a zone's density was, kept beyond the
// engine's 15 minutes in memory, for charts and after-action review. Two
// tiers: every judged reading for a short time (points), and one row per
// zone and minute for long (minutes). History is not part of a Batch: it is
// written in bulk, off the engine's lock, and a lost write loses a chart's
// second, never an alert.

// DensityPoint is one judged reading as the history keeps it.
type DensityPoint struct {
	ZoneID   string
	At       int64 // the reading's time, ms since epoch
	Density  float64
	Smoothed float64
	Level    crowd.Level
	Sensors  int
	NoData   bool
}

// DensityMinute sums up a zone's readings of one minute. Sums rather than
// means are stored so that two partial rows of the same minute (written a
// second apart) merge exactly.
type DensityMinute struct {
	ZoneID      string
	Minute      int64 // start of the minute, ms since epoch (a multiple of 60000)
	Count       int   // readings summed up
	DensityMin  float64
	DensityMax  float64
	DensitySum  float64
	SmoothedMin float64
	SmoothedMax float64
	SmoothedSum float64
	Level       crowd.Level // the worst level of the minute
	SensorsMin  int         // the fewest live sensors fused in the minute
	SensorsMax  int
}

// Merge adds o (the same zone and minute) into m.
func (m *DensityMinute) Merge(o DensityMinute) {
	if m.Count == 0 {
		*m = o
		return
	}
	m.Count += o.Count
	m.DensityMin, m.DensityMax = min(m.DensityMin, o.DensityMin), max(m.DensityMax, o.DensityMax)
	m.DensitySum += o.DensitySum
	m.SmoothedMin, m.SmoothedMax = min(m.SmoothedMin, o.SmoothedMin), max(m.SmoothedMax, o.SmoothedMax)
	m.SmoothedSum += o.SmoothedSum
	m.Level = max(m.Level, o.Level)
	m.SensorsMin, m.SensorsMax = min(m.SensorsMin, o.SensorsMin), max(m.SensorsMax, o.SensorsMax)
}

// MinuteOf is the minute row that holds just the point p.
func MinuteOf(p DensityPoint) DensityMinute {
	return DensityMinute{
		ZoneID: p.ZoneID, Minute: p.At - p.At%60000, Count: 1,
		DensityMin: p.Density, DensityMax: p.Density, DensitySum: p.Density,
		SmoothedMin: p.Smoothed, SmoothedMax: p.Smoothed, SmoothedSum: p.Smoothed,
		Level: p.Level, SensorsMin: p.Sensors, SensorsMax: p.Sensors,
	}
}

// PointOf is the history point of a judged reading.
func PointOf(r crowd.DensityReading) DensityPoint {
	return DensityPoint{ZoneID: r.ZoneID, At: r.Timestamp, Density: r.Density, Smoothed: r.Smoothed,
		Level: r.Level, Sensors: r.Sensors, NoData: r.NoData}
}

// HistoryBatch is one bulk write of history, applied in one transaction.
type HistoryBatch struct {
	Points []DensityPoint
	// Minutes are merged into the stored rows of the same zone and minute.
	Minutes []DensityMinute
	// Latest replaces each zone's last known reading (whole, so that a
	// restarted engine shows it as it was: see LatestReadings).
	Latest []crowd.DensityReading
}

// Empty reports whether the batch writes nothing.
func (b *HistoryBatch) Empty() bool {
	return len(b.Points) == 0 && len(b.Minutes) == 0 && len(b.Latest) == 0
}

// HistoryFilter selects one zone's history in [From, To), oldest first.
type HistoryFilter struct {
	ZoneID   string
	From, To int64 // ms since epoch; a minute row is selected by its start
	Limit    int   // 0 for DefaultHistoryLimit
}

// DefaultHistoryLimit bounds a history query without a Limit.
const DefaultHistoryLimit = 10000

// HistoryStore is the density history, part of every Store.
type HistoryStore interface {
	// WriteHistory applies the batch in one transaction.
	WriteHistory(ctx context.Context, b HistoryBatch) error
	// DensityPoints lists a zone's stored points, oldest first.
	DensityPoints(ctx context.Context, f HistoryFilter) ([]DensityPoint, error)
	// DensityMinutes lists a zone's minute rows, oldest first.
	DensityMinutes(ctx context.Context, f HistoryFilter) ([]DensityMinute, error)
	// LatestReadings returns the last reading written of every zone, for
	// a restarted engine to show each zone's last known state.
	LatestReadings(ctx context.Context) ([]crowd.DensityReading, error)
	// PruneHistory deletes points older than pointsBefore and minute rows
	// that start before minutesBefore (ms since epoch). The latest
	// readings are kept whatever their age.
	PruneHistory(ctx context.Context, pointsBefore, minutesBefore int64) error
}
