package crowd

import (
	"math"
	"time"
)

// Rules are the alert-hygiene and early-warning parameters of DOMAIN.md. They
// are plain values so that a monitor, a replay and a test can each run with
// their own; a zone may override any of them (see RuleOverrides).
type Rules struct {
	// SmoothingWindow is the span of readings (by reading time) whose median
	// is classified: a single spike from a miscounting camera must not raise
	// an alert.
	SmoothingWindow time.Duration
	// DwellLow is how long the smoothed density must stay at or above the
	// watch or warning threshold before an alert at that level is raised
	// (or escalated to it); DwellCritical the same for critical and, on the
	// smoothed density, emergency (shorter, because it matters more). The
	// dwell gates alerts only: the zone's displayed level is the smoothed
	// density's band at once, because the median already absorbs spikes
	// and a control room must see a dense crowd as soon as it is dense.
	// A brief peak thus shows on the dashboard without paging anyone.
	DwellLow      time.Duration
	DwellCritical time.Duration
	// EmergencyReadings consecutive raw readings at or above the emergency
	// threshold put the zone in emergency and raise its emergency alert at
	// once. Raw, not smoothed: a median over the window would delay an
	// emergency by half the window, and two readings in a row already rule
	// out a single glitch. A smoothed density in the emergency band shows
	// emergency too, and raises the alert after DwellCritical, so a noisy
	// series straddling the threshold is not stuck at critical.
	EmergencyReadings int
	// EmergencyDwell is how long those consecutive raw readings must span,
	// from the first to the last: a burst of readings within a second (a
	// sensor flooding, a batch with one timestamp) is still one moment,
	// and one moment never switches a venue into emergency.
	EmergencyDwell time.Duration
	// HysteresisDensity (p/m²) and HysteresisCapacity (fraction of licensed
	// capacity) are how far below a level's entry the smoothed value must
	// fall, for HysteresisHold, before the level is left (displayed and
	// alerted alike): a crowd hovering at a threshold must flap neither the
	// dashboard nor the alert.
	HysteresisDensity  float64
	HysteresisCapacity float64
	HysteresisHold     time.Duration
	// RenotifyGap is the minimum time between two notifications of the same
	// zone, kind and level (or a lower one); only an escalation bypasses it.
	RenotifyGap time.Duration
	// TrendRate (p/m² per minute) sustained over TrendSustain while the
	// smoothed density is at least TrendFloor raises a trend alert.
	TrendRate    float64
	TrendSustain time.Duration
	TrendFloor   float64
	// ForecastHorizon: a forecast crossing of the next threshold sooner than
	// this raises a forecast alert (crowd managers need ~15 minutes to act).
	// ForecastWindow is the span of smoothed densities the robust fit uses;
	// ForecastLimit hides forecasts further out than this, which are noise
	// to an operator.
	ForecastHorizon time.Duration
	ForecastWindow  time.Duration
	ForecastLimit   time.Duration
	// CapacityWatch … CapacityEmergency are occupancy fractions of licensed
	// capacity at which each level begins: 85 % gives stewards time to
	// close an entrance before the licence is reached (critical at 100 %),
	// and 110 % is an overcrowded zone.
	CapacityWatch     float64
	CapacityWarning   float64
	CapacityCritical  float64
	CapacityEmergency float64
	// FlowSustain: smoothed inflow above the zone's exit capacity for this
	// long raises a flow warning. A minute separates a queue that builds
	// from a burst of arrivals (one train, one gate opening).
	FlowSustain time.Duration
	// SensorTimeout: a sensor silent this long (by the engine's clock, not
	// its own) raises a sensor alert and leaves the zone's fusion; a zone
	// whose every sensor is silent shows "no data".
	SensorTimeout time.Duration
	// TestAlertLifetime: alerts from the testing controls resolve by
	// themselves after this (by the engine's clock), so drills never pile
	// up in every screen's snapshot.
	TestAlertLifetime time.Duration
	// CounterReset is when a zone's door-counter balance resets to zero
	// each day (a venue empties overnight), in the venue's timezone
	// Location (by the engine's clock); never without a Location or with
	// CounterResetOff. There is no default: a reset at the wrong hour
	// shows a full stand empty, while a missing one leaves at worst a
	// balance that drifted, which an absolute count corrects.
	CounterReset ClockTime
	Location     *time.Location
}

// DefaultRules returns DOMAIN.md's values and this package's documented
// choices for the rest (EmergencyDwell 2s, ForecastWindow 5m, ForecastLimit
// 60m, capacity 85/95/100/110 %, FlowSustain 1m, SensorTimeout 1m,
// TestAlertLifetime 1m).
func DefaultRules() Rules {
	return Rules{
		SmoothingWindow:    10 * time.Second,
		DwellLow:           30 * time.Second,
		DwellCritical:      10 * time.Second,
		EmergencyReadings:  2,
		EmergencyDwell:     2 * time.Second,
		HysteresisDensity:  0.5,
		HysteresisCapacity: 0.10,
		HysteresisHold:     120 * time.Second,
		RenotifyGap:        5 * time.Minute,
		TrendRate:          0.1,
		TrendSustain:       5 * time.Minute,
		TrendFloor:         2.0,
		ForecastHorizon:    15 * time.Minute,
		ForecastWindow:     5 * time.Minute,
		ForecastLimit:      60 * time.Minute,
		CapacityWatch:      0.85,
		CapacityWarning:    0.95,
		CapacityCritical:   1.0,
		CapacityEmergency:  1.1,
		FlowSustain:        time.Minute,
		SensorTimeout:      60 * time.Second,
		TestAlertLifetime:  60 * time.Second,
		CounterReset:       CounterResetOff,
	}
}

// Validate checks that the rules can be used; field names are the JSON names
// of RuleOverrides so that a venue file's error points at the right key.
func (r Rules) Validate() error {
	durations := []struct {
		name string
		d    time.Duration
		min  time.Duration
	}{
		{"smoothingWindow", r.SmoothingWindow, 0},
		{"dwellLow", r.DwellLow, 0},
		{"dwellCritical", r.DwellCritical, 0},
		{"hysteresisHold", r.HysteresisHold, 0},
		{"renotifyGap", r.RenotifyGap, 0},
		{"trendSustain", r.TrendSustain, time.Second},
		{"forecastHorizon", r.ForecastHorizon, 0},
		{"forecastWindow", r.ForecastWindow, 10 * time.Second},
		{"forecastLimit", r.ForecastLimit, 0},
		{"flowSustain", r.FlowSustain, 0},
		{"emergencyDwell", r.EmergencyDwell, 0},
		{"sensorTimeout", r.SensorTimeout, time.Second},
		{"testAlertLifetime", r.TestAlertLifetime, time.Second},
	}
	for _, d := range durations {
		if d.d < d.min {
			return Invalidf(d.name, "must be at least %s", d.min)
		}
	}
	if r.CounterReset != CounterResetOff && (r.CounterReset < 0 || r.CounterReset >= 24*60) {
		return Invalidf("counterReset", "must be a time of day (\"04:00\") or \"off\"")
	}
	if r.EmergencyReadings < 1 {
		return Invalidf("emergencyReadings", "must be at least 1")
	}
	numbers := []struct {
		name string
		v    float64
	}{
		{"hysteresisDensity", r.HysteresisDensity},
		{"hysteresisCapacity", r.HysteresisCapacity},
		{"trendRate", r.TrendRate},
		{"trendFloor", r.TrendFloor},
	}
	for _, n := range numbers {
		if math.IsNaN(n.v) || math.IsInf(n.v, 0) || n.v < 0 {
			return Invalidf(n.name, "must be a non-negative number")
		}
	}
	capacity := []float64{r.CapacityWatch, r.CapacityWarning, r.CapacityCritical, r.CapacityEmergency}
	names := []string{"capacityWatch", "capacityWarning", "capacityCritical", "capacityEmergency"}
	for i, v := range capacity {
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return Invalidf(names[i], "must be a positive fraction of licensed capacity")
		}
		if i > 0 && v <= capacity[i-1] {
			return Invalidf(names[i], "must be greater than %s (%g)", names[i-1], capacity[i-1])
		}
	}
	return nil
}

// capacityBands are the occupancy fractions as thresholds, so that the same
// level track serves density and occupancy.
func (r Rules) capacityBands() Thresholds {
	return Thresholds{Watch: r.CapacityWatch, Warning: r.CapacityWarning, Critical: r.CapacityCritical, Emergency: r.CapacityEmergency}
}

// dwell is how long a smoothed value must stay at or above level l's entry
// before an alert at l is raised.
func (r Rules) dwell(l Level) time.Duration {
	if l >= Critical {
		return r.DwellCritical
	}
	return r.DwellLow
}
