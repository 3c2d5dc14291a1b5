package crowd

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// checkReadingJSON holds AppendJSON to json.Marshal for r: the same bytes,
// appended after what dst held (left as it was), or, where json.Marshal
// fails, nothing appended.
func checkReadingJSON(t *testing.T, r DensityReading) {
	t.Helper()
	want, err := json.Marshal(r)
	// A prefix, and spare capacity full of junk: AppendJSON must append
	// after the one and overwrite the other.
	dst := append(make([]byte, 0, 64), "[1,"...)
	for i := len(dst); i < cap(dst); i++ {
		dst = append(dst, '#')
	}
	dst = dst[:3]
	got := r.AppendJSON(dst)
	if string(got[:3]) != "[1," {
		t.Fatalf("AppendJSON changed the prefix: %q", got[:3])
	}
	if err != nil {
		if len(got) != len(dst) {
			t.Fatalf("json.Marshal fails (%v), but AppendJSON wrote %q", err, got[len(dst):])
		}
		return
	}
	if !bytes.Equal(got[len(dst):], want) {
		t.Fatalf("AppendJSON differs from json.Marshal for %#v\n got %s\nwant %s", r, got[len(dst):], want)
	}
	if fresh := r.AppendJSON(nil); !bytes.Equal(fresh, want) {
		t.Fatalf("AppendJSON(nil) = %s, want %s", fresh, want)
	}
}

func intp(n int) *int { return &n }

var jsonTestFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, 2.5, 3.456, -0.0125,
	1e-6, 1e-7, -1e-7, 9.999999e-7, 1.5e-10, 1e-100, 5e-324, math.SmallestNonzeroFloat64,
	1e20, 1e21, -1e21, 999999999999999999999.0, 1.2345e25, 1e100, math.MaxFloat64, -math.MaxFloat64,
	123456789.125, 12345678901234567890, 1 << 53, 1<<53 + 1, 0.000001234,
}

var jsonTestStrings = []string{
	"", "z01", "zone A", "<script>&amp;</script>", `say "hi"`, `back\slash`, `\"`,
	"\x00\x01\x07\x1f\x7f", "\b\f\n\r\t", "line\u2028para\u2029end", "\u2027\u202a",
	"\xff", "a\xc3", "\xc3\xa9\xff\xfe", "\xed\xa0\x80", "\xf4\x90\x80\x80", "日本語", "\U0001F600x", "\ufffd",
	"/slashes/ and 'single'", "ascii~!@#$%^*()_+{}|:?",
}

// jsonTestReadings are the table cases: each optional part present and
// absent, zero values, and the awkward floats, strings and levels.
func jsonTestReadings() []DensityReading {
	var rs []DensityReading
	rs = append(rs, DensityReading{}) // all zero, all optional parts absent
	full := DensityReading{
		ZoneID: "z01", Density: 3.25, Smoothed: 3.1, Level: Warning, Count: intp(1625),
		Occupancy: 0.75, Trend: -0.125,
		Forecast:  &Forecast{Level: Critical, Minutes: 4.5, At: 1764266400000},
		Timestamp: 1764266100000, Sensors: 3, NoData: true, Outlier: true,
		Peak:     &SensorValue{SensorID: "s-north", Density: 4.2, Level: Critical},
		Counters: &CounterBalance{Persons: 1200, InPerMin: 30, OutPerMin: 12, Doors: 2, Clamped: 5},
	}
	rs = append(rs, full)
	// Each optional part alone, and everything but it.
	for i := range 7 {
		alone, but := DensityReading{ZoneID: "z"}, full
		switch i {
		case 0:
			alone.Count, but.Count = full.Count, nil
		case 1:
			alone.Forecast, but.Forecast = full.Forecast, nil
		case 2:
			alone.NoData, but.NoData = true, false
		case 3:
			alone.Outlier, but.Outlier = true, false
		case 4:
			alone.Peak, but.Peak = full.Peak, nil
		case 5:
			alone.Counters, but.Counters = full.Counters, nil
		case 6:
			c := *full.Counters
			c.Clamped = 0
			alone.Counters, but.Counters = &c, &c
		}
		rs = append(rs, alone, but)
	}
	// Zero and negative values inside the optional parts.
	rs = append(rs, DensityReading{Count: intp(0), Forecast: &Forecast{}, Peak: &SensorValue{}, Counters: &CounterBalance{}},
		DensityReading{Count: intp(-7), Timestamp: -1, Sensors: -2, Forecast: &Forecast{At: math.MinInt64, Minutes: -1},
			Counters: &CounterBalance{Persons: math.MinInt, InPerMin: math.MaxInt, Clamped: -1}})
	for _, f := range jsonTestFloats {
		rs = append(rs,
			DensityReading{Density: f, Smoothed: -f, Occupancy: f / 2, Trend: f * 3},
			DensityReading{Forecast: &Forecast{Minutes: f}, Peak: &SensorValue{Density: -f}})
	}
	for _, s := range jsonTestStrings {
		rs = append(rs, DensityReading{ZoneID: s, Peak: &SensorValue{SensorID: s + s}})
	}
	for _, l := range jsonTestLevels {
		rs = append(rs, DensityReading{Level: l, Forecast: &Forecast{Level: l + 1}, Peak: &SensorValue{Level: l - 1}})
	}
	return rs
}

func TestDensityReadingJSON(t *testing.T) {
	for _, r := range jsonTestReadings() {
		checkReadingJSON(t, r)
	}
}

// TestDensityReadingJSONNonFinite: where json.Marshal fails, on a NaN or
// an infinity in any float, AppendJSON appends nothing.
func TestDensityReadingJSONNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for i := range 6 {
			r := DensityReading{ZoneID: "z", Forecast: &Forecast{}, Peak: &SensorValue{}}
			switch i {
			case 0:
				r.Density = bad
			case 1:
				r.Smoothed = bad
			case 2:
				r.Occupancy = bad
			case 3:
				r.Trend = bad
			case 4:
				r.Forecast.Minutes = bad
			case 5:
				r.Peak.Density = bad
			}
			if _, err := json.Marshal(r); err == nil {
				t.Fatalf("case %d %v: json.Marshal succeeded", i, bad)
			}
			if got := r.AppendJSON([]byte("x")); string(got) != "x" {
				t.Fatalf("case %d %v: AppendJSON wrote %q", i, bad, got)
			}
			checkReadingJSON(t, r)
		}
	}
	// A non-finite value in an absent part is not encoded by either.
	checkReadingJSON(t, DensityReading{})
}

// TestDensityReadingJSONEveryField sets every field, however deep, of a
// reading to something not zero, by reflection: a field added to the
// structs and not to AppendJSON makes this fail.
func TestDensityReadingJSONEveryField(t *testing.T) {
	var r DensityReading
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		n++
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.String:
			v.SetString("s<" + string(rune('a'+n%26)))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(n%4 + 1))
		case reflect.Float64:
			v.SetFloat(float64(n) + 0.5)
		default:
			t.Fatalf("field of kind %s: teach this test (and AppendJSON) about it", v.Kind())
		}
	}
	fill(reflect.ValueOf(&r).Elem())
	checkReadingJSON(t, r)
}

func FuzzDensityReadingJSON(f *testing.F) {
	rs := jsonTestReadings()
	for _, r := range rs {
		fuzzArgsOf(r).add(f)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
		a := fuzzArgsOf(rs[1])
		a.minutes = bad
		a.add(f)
	}
	f.Fuzz(func(t *testing.T, zone, sensor string, density, smoothed, occupancy, trend, minutes, peak float64,
		level, flevel, plevel int, count int, at, ts int64, sensors int, parts uint8,
		persons, in, out, doors, clamped int) {
		r := DensityReading{ZoneID: zone, Density: density, Smoothed: smoothed, Level: Level(level),
			Occupancy: occupancy, Trend: trend, Timestamp: ts, Sensors: sensors,
			NoData: parts&8 != 0, Outlier: parts&16 != 0}
		if parts&1 != 0 {
			r.Count = &count
		}
		if parts&2 != 0 {
			r.Forecast = &Forecast{Level: Level(flevel), Minutes: minutes, At: at}
		}
		if parts&4 != 0 {
			r.Peak = &SensorValue{SensorID: sensor, Density: peak, Level: Level(plevel)}
		}
		if parts&32 != 0 {
			r.Counters = &CounterBalance{Persons: persons, InPerMin: in, OutPerMin: out, Doors: doors, Clamped: clamped}
		}
		checkReadingJSON(t, r)
	})
}

// fuzzArgs is a reading as FuzzDensityReadingJSON's arguments.
type fuzzArgs struct {
	zone, sensor                                       string
	density, smoothed, occupancy, trend, minutes, peak float64
	level, flevel, plevel, count                       int
	at, ts                                             int64
	sensors                                            int
	parts                                              uint8
	persons, in, out, doors, clamped                   int
}

func (a fuzzArgs) add(f *testing.F) {
	f.Add(a.zone, a.sensor, a.density, a.smoothed, a.occupancy, a.trend, a.minutes, a.peak,
		a.level, a.flevel, a.plevel, a.count, a.at, a.ts, a.sensors, a.parts,
		a.persons, a.in, a.out, a.doors, a.clamped)
}

func fuzzArgsOf(r DensityReading) fuzzArgs {
	a := fuzzArgs{zone: r.ZoneID, density: r.Density, smoothed: r.Smoothed, occupancy: r.Occupancy,
		trend: r.Trend, level: int(r.Level), ts: r.Timestamp, sensors: r.Sensors}
	if r.Count != nil {
		a.parts |= 1
		a.count = *r.Count
	}
	if f := r.Forecast; f != nil {
		a.parts |= 2
		a.flevel, a.minutes, a.at = int(f.Level), f.Minutes, f.At
	}
	if p := r.Peak; p != nil {
		a.parts |= 4
		a.sensor, a.peak, a.plevel = p.SensorID, p.Density, int(p.Level)
	}
	if r.NoData {
		a.parts |= 8
	}
	if r.Outlier {
		a.parts |= 16
	}
	if c := r.Counters; c != nil {
		a.parts |= 32
		a.persons, a.in, a.out, a.doors, a.clamped = c.Persons, c.InPerMin, c.OutPerMin, c.Doors, c.Clamped
	}
	return a
}

// BenchmarkDensityReadingJSON compares encoding/json with AppendJSON on a
// typical judged reading (a zone with a forecast and a peak sensor).
func BenchmarkDensityReadingJSON(b *testing.B) {
	r := DensityReading{ZoneID: "z07", Density: 3.412, Smoothed: 3.3795, Level: Warning,
		Occupancy: 0.6824, Trend: 0.0375, Forecast: &Forecast{Level: Critical, Minutes: 12.5, At: 1764266400000},
		Timestamp: 1764265650000, Sensors: 20, Peak: &SensorValue{SensorID: "s0143", Density: 4.02, Level: Critical}}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = r.AppendJSON(buf[:0])
		}
	})
}
