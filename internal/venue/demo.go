package venue

import (
	_ "embed"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// demoJSON is the demo venue, kept as a venue file so that it doubles as a
// full example of the format (docs/venue.md).
//
//go:embed demo.json
var demoJSON []byte

// Demo returns the built-in demo venue: a stadium on concert night with its
// pitch standing areas, stands, concourses, gates, a fan zone and the ramp,
// stairs and platform of the station next door. Polygons are in metres on a
// site plan about 320 m × 220 m, x to the east and y to the south.
func Demo() crowd.Venue {
	v, err := Parse(demoJSON)
	if err != nil {
		// The file is embedded and covered by TestDemo: this is a build
		// defect, not a runtime condition.
		panic("venue: embedded demo venue is invalid: " + err.Error())
	}
	return v
}
