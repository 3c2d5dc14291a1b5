package engine

import (
	"bytes"
	"math"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
)

// TestDensityMessage: a density event's payload is what message() writes
// for it, byte for byte, its error payload included.
func TestDensityMessage(t *testing.T) {
	n := 42
	long := make([]byte, 700) // longer than densityMessage's scratch
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	for i, r := range []crowd.DensityReading{
		{},
		{ZoneID: "gate-a", Density: 2.5, Smoothed: 2.4375, Level: crowd.Watch, Occupancy: 0.5, Trend: 1e-7, Timestamp: 1764266100000, Sensors: 1},
		{ZoneID: "z<&>\u2028\xff\"", Density: 1e21, Count: &n, Level: crowd.Level(-2), NoData: true, Outlier: true,
			Forecast: &crowd.Forecast{Level: crowd.Critical, Minutes: 0.1, At: 1},
			Peak:     &crowd.SensorValue{SensorID: "s1", Density: 6, Level: crowd.Emergency},
			Counters: &crowd.CounterBalance{Persons: 3, Doors: 1, Clamped: 2}},
		{ZoneID: string(long), Peak: &crowd.SensorValue{SensorID: string(long)}},
		{ZoneID: "nan", Trend: math.NaN()},
		{ZoneID: "inf", Peak: &crowd.SensorValue{Density: math.Inf(1)}},
	} {
		got, want := densityMessage(r), message(event.TypeDensity, r)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
		if ev := densityEvent(7, r); !bytes.Equal(ev.Data, want) {
			t.Fatalf("case %d: event data %s", i, ev.Data)
		}
	}
}

// BenchmarkDensityMessage is a density event's payload by message() (json.Marshal)
// and by densityMessage (AppendJSON).
func BenchmarkDensityMessage(b *testing.B) {
	r := crowd.DensityReading{ZoneID: "z07", Density: 3.412, Smoothed: 3.3795, Level: crowd.Warning,
		Occupancy: 0.6824, Trend: 0.0375, Timestamp: 1764265650000, Sensors: 20}
	b.Run("message", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			message(event.TypeDensity, r)
		}
	})
	b.Run("densityMessage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			densityMessage(r)
		}
	})
}
