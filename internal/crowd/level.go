// Package crowd is the domain of the Crowd Risk Engine: zones, readings, risk
// levels, thresholds, alerts and emergency mode, and the pure rules that turn
// a series of readings into levels and alerts. It does no I/O and never reads
// the wall clock: every decision is a function of the readings' own times.
package crowd

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Level is a risk level. The order matters: higher is worse.
type Level int

const (
	Normal Level = iota
	Watch
	Warning
	Critical
	Emergency
)

// Levels lists every level from best to worst.
var Levels = []Level{Normal, Watch, Warning, Critical, Emergency}

var levelNames = [...]string{"normal", "watch", "warning", "critical", "emergency"}

func (l Level) String() string {
	if l < Normal || l > Emergency {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level name.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return Normal, fmt.Errorf("unknown level %q (want one of normal, watch, warning, critical, emergency)", s)
}

// levelJSON is each level's name as a JSON string.
var levelJSON = func() (t [len(levelNames)]string) {
	for i, n := range levelNames {
		t[i] = `"` + n + `"`
	}
	return t
}()

// MarshalJSON writes the level's name, as json.Marshal(l.String()) would
// (the names, and level(-3) for a level out of range, need no escaping),
// without its reflection. The slice is the caller's own.
//
// Not MarshalText: encoding/json would then also use it for a map key,
// which is the number today (a map[Level] encodes as {"3":…}).
func (l Level) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

// appendJSON appends the level as MarshalJSON writes it.
func (l Level) appendJSON(dst []byte) []byte {
	if l < Normal || l > Emergency {
		dst = append(dst, `"level(`...)
		dst = strconv.AppendInt(dst, int64(l), 10)
		return append(dst, `)"`...)
	}
	return append(dst, levelJSON[l]...)
}

// UnmarshalJSON reads a level's name.
func (l *Level) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("level must be a string")
	}
	v, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}
