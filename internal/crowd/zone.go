package crowd

import (
	"fmt"
	"math"
	"time"
)

// Kind says how a zone's crowd behaves: people standing or holding (a pitch,
// a queue) tolerate far higher densities than people walking (a corridor).
type Kind string

const (
	Standing Kind = "standing"
	Moving   Kind = "moving"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Standing || k == Moving }

// Thresholds are the densities (persons/m²) at which each level begins.
type Thresholds struct {
	Watch     float64 `json:"watch"`
	Warning   float64 `json:"warning"`
	Critical  float64 `json:"critical"`
	Emergency float64 `json:"emergency"`
}

// DefaultThresholds are DOMAIN.md's recommended defaults per zone kind.
func DefaultThresholds(k Kind) Thresholds {
	if k == Moving {
		return Thresholds{Watch: 1.1, Warning: 2.0, Critical: 3.0, Emergency: 4.0}
	}
	return Thresholds{Watch: 2.0, Warning: 3.5, Critical: 4.7, Emergency: 6.0}
}

// IsZero reports whether no threshold is set.
func (t Thresholds) IsZero() bool { return t == Thresholds{} }

// Entry returns the density at which level l begins (0 for Normal).
func (t Thresholds) Entry(l Level) float64 {
	switch l {
	case Watch:
		return t.Watch
	case Warning:
		return t.Warning
	case Critical:
		return t.Critical
	case Emergency:
		return t.Emergency
	}
	return 0
}

// Classify maps a density to the level whose band contains it, without any
// smoothing, dwell or hysteresis.
func (t Thresholds) Classify(density float64) Level {
	switch {
	case density >= t.Emergency:
		return Emergency
	case density >= t.Critical:
		return Critical
	case density >= t.Warning:
		return Warning
	case density >= t.Watch:
		return Watch
	}
	return Normal
}

// Validate checks that the thresholds are finite, positive and increasing.
func (t Thresholds) Validate() error {
	vals := []float64{t.Watch, t.Warning, t.Critical, t.Emergency}
	names := []string{"watch", "warning", "critical", "emergency"}
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return Invalidf("thresholds."+names[i], "must be a positive number of persons per m²")
		}
		if i > 0 && v <= vals[i-1] {
			return Invalidf("thresholds."+names[i], "must be greater than %s (%g)", names[i-1], vals[i-1])
		}
	}
	return nil
}

// Point is a vertex of a zone's outline on the site plan, in plan units.
type Point [2]float64

// Zone is an area of the venue with its own density.
type Zone struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Kind       Kind       `json:"kind"`
	AreaM2     float64    `json:"areaM2"`
	Capacity   int        `json:"capacity"`
	Thresholds Thresholds `json:"thresholds"`
	// ExitCapacityPerMin is how many persons per minute the zone's exits can
	// serve; with flow counts on readings it drives the inflow/outflow alert.
	ExitCapacityPerMin float64 `json:"exitCapacityPerMin,omitempty"`
	// Polygon outlines the zone on the venue's site plan (optional).
	Polygon []Point `json:"polygon,omitempty"`
	// Rules overrides the monitor's alert rules for this zone (optional).
	Rules *RuleOverrides `json:"rules,omitempty"`
}

// WithDefaults fills unset thresholds from the zone's kind.
func (z Zone) WithDefaults() Zone {
	if z.Kind == "" {
		z.Kind = Standing
	}
	if z.Thresholds.IsZero() {
		z.Thresholds = DefaultThresholds(z.Kind)
	}
	if z.Name == "" {
		z.Name = z.ID
	}
	return z
}

// Validate checks one zone; field names are prefixed with prefix.
func (z Zone) Validate() error {
	if z.ID == "" {
		return Invalidf("id", "is required")
	}
	if len(z.ID) > 64 {
		return Invalidf("id", "must be at most 64 characters")
	}
	if !z.Kind.Valid() {
		return Invalidf("kind", "must be %q or %q", Standing, Moving)
	}
	if math.IsNaN(z.AreaM2) || math.IsInf(z.AreaM2, 0) || z.AreaM2 <= 0 {
		return Invalidf("areaM2", "must be a positive area in m²")
	}
	if z.Capacity < 0 {
		return Invalidf("capacity", "must not be negative")
	}
	if z.ExitCapacityPerMin < 0 || math.IsNaN(z.ExitCapacityPerMin) || math.IsInf(z.ExitCapacityPerMin, 0) {
		return Invalidf("exitCapacityPerMin", "must be a non-negative number")
	}
	if err := z.Thresholds.Validate(); err != nil {
		return err
	}
	if len(z.Polygon) != 0 && len(z.Polygon) < 3 {
		return Invalidf("polygon", "needs at least 3 points")
	}
	return z.Rules.Validate()
}

// Venue is the set of zones an engine watches.
type Venue struct {
	Name  string `json:"name"`
	Zones []Zone `json:"zones"`
	// Timezone is the venue's IANA time zone ("Europe/Berlin"), in which
	// CounterReset is read; required with it.
	Timezone string `json:"timezone,omitempty"`
	// CounterReset is when every zone's door-counter balance resets to
	// zero each day ("04:00"; a zone's rules.counterReset overrides it).
	// None by default.
	CounterReset *ClockTime `json:"counterReset,omitempty"`
}

// Rules returns base with the venue's own settings: its timezone and
// counter reset.
func (v Venue) Rules(base Rules) Rules {
	if v.Timezone != "" {
		if loc, err := time.LoadLocation(v.Timezone); err == nil {
			base.Location = loc
		}
	}
	if v.CounterReset != nil {
		base.CounterReset = *v.CounterReset
	}
	return base
}

// Validate checks every zone and that ids are unique.
func (v Venue) Validate() error {
	if len(v.Zones) == 0 {
		return Invalidf("zones", "a venue needs at least one zone")
	}
	if v.Timezone != "" {
		if _, err := time.LoadLocation(v.Timezone); err != nil {
			return Invalidf("timezone", "unknown time zone %q (want an IANA name such as \"Europe/Berlin\" or \"UTC\")", v.Timezone)
		}
	}
	if v.CounterReset != nil {
		if c := *v.CounterReset; c != CounterResetOff && (c < 0 || c >= 24*60) {
			return Invalidf("counterReset", "must be a time of day (\"04:00\") or \"off\"")
		}
		if *v.CounterReset != CounterResetOff && v.Timezone == "" {
			return Invalidf("counterReset", "needs the venue's timezone: a reset at 04:00 of the wrong zone empties a full stand on the screens")
		}
	}
	seen := map[string]bool{}
	for i, z := range v.Zones {
		if err := z.Validate(); err != nil {
			return PrefixField(err, fmt.Sprintf("zones[%d]", i))
		}
		if z.Rules != nil && z.Rules.CounterReset != nil && *z.Rules.CounterReset != CounterResetOff && v.Timezone == "" {
			return Invalidf(fmt.Sprintf("zones[%d].rules.counterReset", i), "needs the venue's timezone: a reset at 04:00 of the wrong zone empties a full stand on the screens")
		}
		if seen[z.ID] {
			return Invalidf(fmt.Sprintf("zones[%d].id", i), "duplicate zone id %q", z.ID)
		}
		seen[z.ID] = true
	}
	return nil
}
