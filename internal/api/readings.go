package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// MaxDensity is the highest density believed: about twice the densest crowd
// ever measured. Anything above is a broken sensor, not a crowd.
const MaxDensity = 20.0

// DecodeReadings reads a POST /readings body: one ReadingInput or an array of
// at most MaxBatch of them. It checks everything a reading can be judged on
// without the engine's state (fields present and in range); the engine then
// checks zones and timestamps. Fields in errors are "readings[i].field".
func DecodeReadings(body io.Reader) ([]crowd.ReadingInput, error) {
	br := bufio.NewReader(body)
	first, err := firstByte(br)
	if err != nil {
		return nil, jsonError(err, "")
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	var out []crowd.ReadingInput
	switch first {
	case '{':
		var in crowd.ReadingInput
		if err := dec.Decode(&in); err != nil {
			return nil, jsonError(err, "readings[0]")
		}
		out = append(out, in)
	case '[':
		if _, err := dec.Token(); err != nil {
			return nil, jsonError(err, "readings")
		}
		for i := 0; dec.More(); i++ {
			if i == MaxBatch {
				return nil, &crowd.Error{Code: crowd.ErrTooLarge, Field: "readings", Message: fmt.Sprintf("a batch holds at most %d readings", MaxBatch)}
			}
			var in crowd.ReadingInput
			if err := dec.Decode(&in); err != nil {
				return nil, jsonError(err, fmt.Sprintf("readings[%d]", i))
			}
			out = append(out, in)
		}
		if _, err := dec.Token(); err != nil { // the closing bracket
			return nil, jsonError(truncated(err), "readings")
		}
		if len(out) == 0 {
			return nil, crowd.Invalidf("readings", "the array is empty; send at least one reading")
		}
	default:
		return nil, crowd.Invalidf("readings", "the body must be a reading object or an array of them")
	}
	if err := expectEOF(dec); err != nil {
		return nil, err
	}
	for i, in := range out {
		if err := checkReading(in); err != nil {
			return nil, crowd.PrefixField(err, fmt.Sprintf("readings[%d]", i))
		}
	}
	return out, nil
}

// truncated reports an end of input inside a value for what it is: EOF is
// only "empty body" before the first byte.
func truncated(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// firstByte peeks at the first byte that is not JSON whitespace.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return b, br.UnreadByte()
	}
}

// checkReading is the stateless half of a reading's validation.
func checkReading(in crowd.ReadingInput) error {
	switch {
	case in.ZoneID == "":
		return crowd.Invalidf("zoneId", "is required")
	case len(in.ZoneID) > 64:
		return crowd.Invalidf("zoneId", "must be at most 64 characters")
	case in.Density != nil && in.Count != nil:
		return crowd.Invalidf("density", "give density or count, not both")
	case in.Density == nil && in.Count == nil:
		return crowd.Invalidf("density", "is required (persons per m²), or give count instead")
	}
	if in.Density != nil {
		if err := checkAmount("density", *in.Density, MaxDensity); err != nil {
			return err
		}
	}
	if in.Count != nil && *in.Count < 0 {
		return crowd.Invalidf("count", "must not be negative")
	}
	if in.Timestamp != nil && *in.Timestamp <= 0 {
		return crowd.Invalidf("timestamp", "must be milliseconds since the epoch")
	}
	if in.InflowPerMin != nil {
		if err := checkAmount("inflowPerMin", *in.InflowPerMin, math.MaxFloat64); err != nil {
			return err
		}
	}
	if in.OutflowPerMin != nil {
		if err := checkAmount("outflowPerMin", *in.OutflowPerMin, math.MaxFloat64); err != nil {
			return err
		}
	}
	return nil
}

func checkAmount(field string, v, max float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return crowd.Invalidf(field, "must be a finite number")
	case v < 0:
		return crowd.Invalidf(field, "must not be negative")
	case v > max:
		return crowd.Invalidf(field, "%g is not plausible (at most %g)", v, max)
	}
	return nil
}
