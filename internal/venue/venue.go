// Package venue reads venue files: the zones an engine watches, with their
// kinds, areas, capacities, thresholds and outlines on a site plan. It also
// ships the demo venue that a bare `crowdrisk` starts with.
//
// The format is documented in docs/venue.md.
package venue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	// The venue's timezone must load on any machine, also one without a
	// time zone database (a container, Windows): a counter reset read in
	// the wrong zone would empty a full stand on the screens.
	_ "time/tzdata"
)

// maxFileBytes bounds a venue file; a real venue has tens of zones, not
// megabytes of them, so anything larger is a mistake.
const maxFileBytes = 4 << 20

// Load reads and parses a venue file.
func Load(path string) (crowd.Venue, error) {
	f, err := os.Open(path)
	if err != nil {
		return crowd.Venue{}, crowd.Errorf(crowd.ErrInvalid, "venue file: %v", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileBytes+1)); err != nil {
		return crowd.Venue{}, crowd.Errorf(crowd.ErrInvalid, "venue file %s: %v", path, err)
	}
	if buf.Len() > maxFileBytes {
		return crowd.Venue{}, crowd.Errorf(crowd.ErrTooLarge, "venue file %s is larger than %d bytes", path, maxFileBytes)
	}
	v, err := Parse(buf.Bytes())
	if err != nil {
		var ce *crowd.Error
		if errors.As(err, &ce) {
			c := *ce
			c.Message = c.Message + " (in " + path + ")"
			return crowd.Venue{}, &c
		}
		return crowd.Venue{}, err
	}
	return v, nil
}

// Parse decodes a venue file strictly: unknown fields are rejected naming
// the field, unset thresholds default by zone kind, and the result is
// validated. Errors are *crowd.Error naming the field ("zones[2].areaM2").
func Parse(data []byte) (crowd.Venue, error) {
	var top map[string]json.RawMessage
	if err := decodeObject(data, &top, ""); err != nil {
		return crowd.Venue{}, err
	}
	if err := checkKeys(top, reflect.TypeFor[crowd.Venue](), ""); err != nil {
		return crowd.Venue{}, err
	}
	var v crowd.Venue
	if raw, ok := top["name"]; ok {
		if err := json.Unmarshal(raw, &v.Name); err != nil {
			return crowd.Venue{}, crowd.Invalidf("name", "must be a string")
		}
	}
	if raw, ok := top["timezone"]; ok {
		if err := json.Unmarshal(raw, &v.Timezone); err != nil {
			return crowd.Venue{}, crowd.Invalidf("timezone", "must be a string, an IANA time zone such as \"Europe/Berlin\"")
		}
	}
	if raw, ok := top["counterReset"]; ok {
		v.CounterReset = new(crowd.ClockTime)
		if err := json.Unmarshal(raw, v.CounterReset); err != nil {
			return crowd.Venue{}, crowd.Invalidf("counterReset", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	var zones []json.RawMessage
	if raw, ok := top["zones"]; ok {
		if err := json.Unmarshal(raw, &zones); err != nil {
			return crowd.Venue{}, crowd.Invalidf("zones", "must be an array of zones")
		}
	}
	for i, raw := range zones {
		z, err := parseZone(raw)
		if err != nil {
			return crowd.Venue{}, crowd.PrefixField(err, fmt.Sprintf("zones[%d]", i))
		}
		v.Zones = append(v.Zones, z)
	}
	if err := v.Validate(); err != nil {
		return crowd.Venue{}, err
	}
	return v, nil
}

// parseZone decodes one zone. Kind is required: a corridor silently taken
// for a standing area would get thresholds almost twice as high and warn far
// too late. Thresholds given in part are completed from the kind's defaults,
// so a file can lower just the warning level of one zone.
func parseZone(raw json.RawMessage) (crowd.Zone, error) {
	var fields map[string]json.RawMessage
	if err := decodeObject(raw, &fields, ""); err != nil {
		return crowd.Zone{}, err
	}
	if err := checkKeys(fields, reflect.TypeFor[crowd.Zone](), ""); err != nil {
		return crowd.Zone{}, err
	}
	if _, ok := fields["kind"]; !ok {
		return crowd.Zone{}, crowd.Invalidf("kind", "is required (%q or %q)", crowd.Standing, crowd.Moving)
	}
	tRaw, hasThresholds := fields["thresholds"]
	delete(fields, "thresholds")
	var z crowd.Zone
	for key, val := range fields {
		if err := unmarshalField(val, &z, key); err != nil {
			return crowd.Zone{}, err
		}
	}
	if !z.Kind.Valid() {
		return crowd.Zone{}, crowd.Invalidf("kind", "must be %q or %q", crowd.Standing, crowd.Moving)
	}
	if hasThresholds {
		var tf map[string]json.RawMessage
		if err := decodeObject(tRaw, &tf, "thresholds"); err != nil {
			return crowd.Zone{}, err
		}
		if err := checkKeys(tf, reflect.TypeFor[crowd.Thresholds](), "thresholds"); err != nil {
			return crowd.Zone{}, err
		}
		t := crowd.DefaultThresholds(z.Kind)
		for key, val := range tf {
			if err := unmarshalField(val, &t, key); err != nil {
				return crowd.Zone{}, crowd.PrefixField(err, "thresholds")
			}
		}
		z.Thresholds = t
	}
	z = z.WithDefaults()
	for i, p := range z.Polygon {
		for _, c := range p {
			if math.IsNaN(c) || math.IsInf(c, 0) {
				return crowd.Zone{}, crowd.Invalidf(fmt.Sprintf("polygon[%d]", i), "must be two finite numbers [x, y] in metres")
			}
		}
	}
	return z, nil
}

// unmarshalField decodes one JSON member into the struct field that carries
// that JSON name, so a type error names exactly that field.
func unmarshalField(val json.RawMessage, dst any, key string) error {
	rv := reflect.ValueOf(dst).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if jsonName(rv.Type().Field(i)) != key {
			continue
		}
		// Strict below the top level too, should a nested object (per-zone
		// rules) join crowd.Zone later.
		dec := json.NewDecoder(bytes.NewReader(val))
		dec.DisallowUnknownFields()
		if err := dec.Decode(rv.Field(i).Addr().Interface()); err != nil {
			if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
				return crowd.Invalidf(key+"."+strings.Trim(name, `"`), "unknown field")
			}
			return crowd.Invalidf(key, "%s", describeTypeError(err, rv.Field(i).Type()))
		}
		return nil
	}
	return crowd.Invalidf(key, "unknown field")
}

func describeTypeError(err error, t reflect.Type) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("must be %s, not a JSON %s", typeWord(t), te.Value)
	}
	return err.Error()
}

func typeWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// decodeObject decodes a JSON object, naming the field and the position of a
// syntax error.
func decodeObject(data []byte, dst *map[string]json.RawMessage, field string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return crowd.Invalidf(field, "malformed JSON at line %d, column %d: %v", line, col, se)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return crowd.Invalidf(field, "must be a JSON object, not a JSON %s", te.Value)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return crowd.Invalidf(field, "malformed JSON: the document ends too early")
		}
		return crowd.Invalidf(field, "malformed JSON: %v", err)
	}
	if *dst == nil {
		return crowd.Invalidf(field, "must be a JSON object, not null")
	}
	if dec.More() {
		return crowd.Invalidf(field, "unexpected data after the JSON object")
	}
	return nil
}

// checkKeys rejects members that t has no JSON field for. Matching is exact:
// encoding/json would quietly accept "AreaM2" for "areaM2".
func checkKeys(fields map[string]json.RawMessage, t reflect.Type, prefix string) error {
	known := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		if n := jsonName(t.Field(i)); n != "" {
			known[n] = true
		}
	}
	var unknown []string
	for k := range fields {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	// Report the first in file order would need a token scan; the
	// alphabetically first is just as actionable and deterministic.
	first := unknown[0]
	for _, k := range unknown[1:] {
		if k < first {
			first = k
		}
	}
	field := first
	if prefix != "" {
		field = prefix + "." + first
	}
	return crowd.Invalidf(field, "unknown field")
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
