package api

import (
	"strconv"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// fastReadings decodes the shape nearly every sensor sends: one reading
// object, or an array of them, with only the known keys spelled exactly,
// plain strings (no escapes) and numbers, no nulls. It accepts nothing the
// strict decoder would refuse and decodes it to the same values; anything
// else (an error of any kind, an unusual but valid form) returns ok false,
// and the strict decoder (decodeReadingsSlow) decides and words the error.
// So it can only be faster, never different: FuzzFastReadings checks that.
//
// Why: encoding/json's reflection plus the strict key scan were a third of
// the engine's CPU per reading (BENCHMARKS.md, "One reading per request").
// The caller has checked that data is valid UTF-8.
func fastReadings(data []byte) (out []crowd.ReadingInput, ok bool) {
	p := fastParser{data: data}
	p.ws()
	switch p.peek() {
	case '{':
		var in crowd.ReadingInput
		if !p.object(&in) {
			return nil, false
		}
		out = []crowd.ReadingInput{in}
	case '[':
		p.batch = true
		p.i++
		p.ws()
		if p.peek() == ']' {
			return nil, false // empty: the strict decoder says so
		}
		out = make([]crowd.ReadingInput, 0, min(p.estimate(), MaxBatch))
		for {
			if len(out) == MaxBatch {
				return nil, false
			}
			p.ws()
			var in crowd.ReadingInput
			if !p.object(&in) {
				return nil, false
			}
			out = append(out, in)
			p.ws()
			if c := p.peek(); c == ',' {
				p.i++
				continue
			} else if c != ']' {
				return nil, false
			}
			p.i++
			break
		}
	default:
		return nil, false
	}
	p.ws()
	if p.i != len(data) {
		return nil, false
	}
	return out, true
}

type fastParser struct {
	data []byte
	i    int
	// names interns zone and sensor ids within one body: a batch repeats
	// them, and a string each would be an allocation each.
	names map[string]string
	batch bool
}

func (p *fastParser) peek() byte {
	if p.i < len(p.data) {
		return p.data[p.i]
	}
	return 0
}

func (p *fastParser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// estimate guesses an array's length from the body's size, so that a
// batch's slice grows once.
func (p *fastParser) estimate() int { return len(p.data)/60 + 1 }

// readingValues holds one reading's numbers: one allocation for all of its
// pointer fields instead of one each.
type readingValues struct {
	density, inflow, outflow float64
	count, in, out           int
	timestamp                int64
}

// object decodes one reading object. Every key must be one of
// ReadingInput's, exactly, at most once.
func (p *fastParser) object(in *crowd.ReadingInput) bool {
	if p.peek() != '{' {
		return false
	}
	p.i++
	p.ws()
	if p.peek() == '}' {
		return false // an empty object: rare, left to the strict decoder
	}
	var v *readingValues
	var seen uint16
	for {
		p.ws()
		key, ok := p.plainString()
		if !ok {
			return false
		}
		p.ws()
		if p.peek() != ':' {
			return false
		}
		p.i++
		p.ws()
		f := fieldOf(key)
		if f < 0 || seen&(1<<f) != 0 {
			return false
		}
		seen |= 1 << f
		if f == fZone || f == fSensor {
			s, ok := p.plainString()
			if !ok {
				return false
			}
			if f == fZone {
				in.ZoneID = p.intern(s)
			} else {
				in.SensorID = p.intern(s)
			}
		} else {
			num, ok := p.number()
			if !ok {
				return false
			}
			if v == nil {
				v = new(readingValues)
			}
			if !setNumber(in, v, f, num) {
				return false
			}
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

const (
	fZone = iota
	fSensor
	fDensity
	fCount
	fTimestamp
	fInflow
	fOutflow
	fIn
	fOut
)

// fieldOf maps a key to its field, exactly as spelled in ReadingInput's
// tags (the strict decoder refuses other spellings); -1 for any other.
func fieldOf(key []byte) int {
	switch string(key) { // no allocation: the compiler compares in place
	case "zoneId":
		return fZone
	case "sensorId":
		return fSensor
	case "density":
		return fDensity
	case "count":
		return fCount
	case "timestamp":
		return fTimestamp
	case "inflowPerMin":
		return fInflow
	case "outflowPerMin":
		return fOutflow
	case "in":
		return fIn
	case "out":
		return fOut
	}
	return -1
}

// setNumber stores a number the way encoding/json would into the field's
// type: float64 through ParseFloat, int and int64 through ParseInt (so
// "1.5" or "1e3" for an integer field is not ok, as it is an error there).
func setNumber(in *crowd.ReadingInput, v *readingValues, f int, num []byte) bool {
	s := string(num) // short; see the conversions below
	switch f {
	case fDensity, fInflow, fOutflow:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false
		}
		switch f {
		case fDensity:
			v.density, in.Density = x, &v.density
		case fInflow:
			v.inflow, in.InflowPerMin = x, &v.inflow
		default:
			v.outflow, in.OutflowPerMin = x, &v.outflow
		}
	default:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return false
		}
		switch f {
		case fTimestamp:
			v.timestamp, in.Timestamp = n, &v.timestamp
		case fCount:
			v.count, in.Count = int(n), &v.count
		case fIn:
			v.in, in.In = int(n), &v.in
		default:
			v.out, in.Out = int(n), &v.out
		}
	}
	return true
}

// plainString reads a string with no escapes and no control characters
// and returns its bytes (the body is valid UTF-8, so they are its text).
func (p *fastParser) plainString() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.data); j++ {
		switch c := p.data[j]; {
		case c == '"':
			p.i = j + 1
			return p.data[start:j], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// number reads a JSON number by the grammar of RFC 8259:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *fastParser) number() ([]byte, bool) {
	d, start := p.data, p.i
	j := start
	if j < len(d) && d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && d[j] >= '1' && d[j] <= '9':
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	default:
		return nil, false
	}
	if j < len(d) && d[j] == '.' {
		j++
		k := j
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
		if j == k {
			return nil, false
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		k := j
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
		if j == k {
			return nil, false
		}
	}
	p.i = j
	return d[start:j], true
}

func (p *fastParser) intern(b []byte) string {
	if !p.batch {
		return string(b)
	}
	if s, ok := p.names[string(b)]; ok {
		return s
	}
	if p.names == nil {
		p.names = make(map[string]string, 8)
	}
	s := string(b)
	p.names[s] = s
	return s
}
