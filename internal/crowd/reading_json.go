package crowd

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the reading as json.Marshal(r) encodes it, byte for
// byte (field order, omitempty, encoding/json's HTML-safe string escaping
// and its float format), without reflection: the ingest answer and every
// density event encode one per reading. FuzzDensityReadingJSON holds it to
// json.Marshal; a field added to DensityReading (or to Forecast,
// SensorValue or CounterBalance) must be added here, which
// TestDensityReadingJSONEveryField catches.
//
// json.Marshal fails on a NaN or an infinity. AppendJSON then appends
// nothing and returns dst as it was: a caller that sees no bytes added
// falls back to json.Marshal for its error. It never writes invalid JSON.
func (r DensityReading) AppendJSON(dst []byte) []byte {
	if !r.finite() {
		return dst
	}
	dst = append(dst, `{"zoneId":`...)
	dst = appendJSONString(dst, r.ZoneID)
	dst = append(dst, `,"density":`...)
	dst = appendJSONFloat(dst, r.Density)
	dst = append(dst, `,"smoothed":`...)
	dst = appendJSONFloat(dst, r.Smoothed)
	dst = append(dst, `,"level":`...)
	dst = r.Level.appendJSON(dst)
	if r.Count != nil {
		dst = append(dst, `,"count":`...)
		dst = strconv.AppendInt(dst, int64(*r.Count), 10)
	}
	dst = append(dst, `,"occupancy":`...)
	dst = appendJSONFloat(dst, r.Occupancy)
	dst = append(dst, `,"trend":`...)
	dst = appendJSONFloat(dst, r.Trend)
	if f := r.Forecast; f != nil {
		dst = append(dst, `,"forecast":{"level":`...)
		dst = f.Level.appendJSON(dst)
		dst = append(dst, `,"minutes":`...)
		dst = appendJSONFloat(dst, f.Minutes)
		dst = append(dst, `,"at":`...)
		dst = strconv.AppendInt(dst, f.At, 10)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, r.Timestamp, 10)
	dst = append(dst, `,"sensors":`...)
	dst = strconv.AppendInt(dst, int64(r.Sensors), 10)
	if r.NoData {
		dst = append(dst, `,"noData":true`...)
	}
	if r.Outlier {
		dst = append(dst, `,"outlier":true`...)
	}
	if p := r.Peak; p != nil {
		dst = append(dst, `,"peak":{"sensorId":`...)
		dst = appendJSONString(dst, p.SensorID)
		dst = append(dst, `,"density":`...)
		dst = appendJSONFloat(dst, p.Density)
		dst = append(dst, `,"level":`...)
		dst = p.Level.appendJSON(dst)
		dst = append(dst, '}')
	}
	if c := r.Counters; c != nil {
		dst = append(dst, `,"counters":{"persons":`...)
		dst = strconv.AppendInt(dst, int64(c.Persons), 10)
		dst = append(dst, `,"inPerMin":`...)
		dst = strconv.AppendInt(dst, int64(c.InPerMin), 10)
		dst = append(dst, `,"outPerMin":`...)
		dst = strconv.AppendInt(dst, int64(c.OutPerMin), 10)
		dst = append(dst, `,"doors":`...)
		dst = strconv.AppendInt(dst, int64(c.Doors), 10)
		if c.Clamped != 0 {
			dst = append(dst, `,"clamped":`...)
			dst = strconv.AppendInt(dst, int64(c.Clamped), 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// finite reports whether every float AppendJSON writes is finite, which is
// when json.Marshal(r) succeeds.
func (r DensityReading) finite() bool {
	ok := finite(r.Density) && finite(r.Smoothed) && finite(r.Occupancy) && finite(r.Trend)
	if r.Forecast != nil {
		ok = ok && finite(r.Forecast.Minutes)
	}
	if r.Peak != nil {
		ok = ok && finite(r.Peak.Density)
	}
	return ok
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// appendJSONFloat appends a finite f as encoding/json's floatEncoder does
// for a float64: like ES6's number to string, the shortest 'f' form,
// except 'e' below 1e-6 and from 1e21 up, its exponent without a leading
// zero (1e-07 becomes 1e-7).
func appendJSONFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// The 'e' form is at least 4 bytes ("1e-07"), so these are its own.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json writes a string with
// its default HTML escaping: ", \ and control characters escaped (\n, \r,
// \t, \b, \f by name, the others as \u00XX), <, > and & as \u003c, \u003e
// and \u0026, U+2028 and U+2029 as \u2028 and \u2029, and each byte of
// invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
