package replay

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// ParseCSV reads `timestamp,zoneId,density` or `timestamp,zoneId,count`
// rows under a header line naming the columns. A timestamp is milliseconds
// since the epoch or RFC 3339. Errors name the line and the column.
func ParseCSV(r io.Reader) ([]crowd.ReadingInput, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, crowd.Invalidf("line 1", "empty file: want a header timestamp,zoneId,density or timestamp,zoneId,count")
		}
		return nil, csvError(err)
	}
	for i, want := range []string{"timestamp", "zoneId"} {
		if strings.TrimSpace(header[i]) != want {
			return nil, crowd.Invalidf(fmt.Sprintf("line 1, column %d", i+1), "header must be timestamp,zoneId,density or timestamp,zoneId,count, found %q", header[i])
		}
	}
	byCount := false
	switch strings.TrimSpace(header[2]) {
	case "density":
	case "count":
		byCount = true
	default:
		return nil, crowd.Invalidf("line 1, column 3", "third column must be density or count, found %q", header[2])
	}

	var out []crowd.ReadingInput
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		at := func(col int) string { return fmt.Sprintf("line %d, column %d", line, col) }
		ts, err := parseTimestamp(strings.TrimSpace(rec[0]))
		if err != nil {
			return nil, crowd.Invalidf(at(1)+" (timestamp)", "%v", err)
		}
		in := crowd.ReadingInput{ZoneID: strings.TrimSpace(rec[1]), Timestamp: &ts}
		if in.ZoneID == "" {
			return nil, crowd.Invalidf(at(2)+" (zoneId)", "is empty")
		}
		v := strings.TrimSpace(rec[2])
		if byCount {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, crowd.Invalidf(at(3)+" (count)", "%q is not a non-negative whole number", v)
			}
			in.Count = &n
		} else {
			d, err := strconv.ParseFloat(v, 64)
			if err != nil || d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
				return nil, crowd.Invalidf(at(3)+" (density)", "%q is not a non-negative number of persons per m²", v)
			}
			in.Density = &d
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, crowd.Invalidf("line 2", "no readings after the header")
	}
	return out, nil
}

func parseTimestamp(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 {
			return 0, fmt.Errorf("%q is before 1970", s)
		}
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither milliseconds since the epoch nor RFC 3339 (2025-11-27T18:00:00Z)", s)
	}
	return t.UnixMilli(), nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return crowd.Invalidf(fmt.Sprintf("line %d, column %d", pe.Line, pe.Column), "%v", pe.Err)
	}
	return crowd.Errorf(crowd.ErrInvalid, "reading CSV: %v", err)
}
