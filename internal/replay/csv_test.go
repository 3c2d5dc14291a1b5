package replay

import (
	"errors"
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

func TestParseCSV(t *testing.T) {
	r, err := ParseCSV(strings.NewReader("timestamp,zoneId,density\n1764270000000,gate-a,1.5\n# a comment\n2025-11-27T19:00:01.5Z, gate-b ,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 2 || *r[0].Timestamp != 1764270000000 || r[0].ZoneID != "gate-a" || *r[0].Density != 1.5 || r[0].Count != nil {
		t.Fatalf("first reading %+v", r[0])
	}
	if *r[1].Timestamp != 1764270001500 || r[1].ZoneID != "gate-b" || *r[1].Density != 0 {
		t.Fatalf("second reading %+v (timestamp %d)", r[1], *r[1].Timestamp)
	}
	r, err = ParseCSV(strings.NewReader("timestamp,zoneId,count\n1764270000000,pitch,310\n"))
	if err != nil {
		t.Fatal(err)
	}
	if *r[0].Count != 310 || r[0].Density != nil {
		t.Fatalf("count reading %+v", r[0])
	}
}

func TestParseCSVErrors(t *testing.T) {
	const h = "timestamp,zoneId,density\n"
	tests := []struct{ name, in, field, msg string }{
		{"empty", "", "line 1", "header"},
		{"no header", "1764270000000,a,1\n", "line 1, column 1", "header"},
		{"bad third column", "timestamp,zoneId,people\n1,a,1\n", "line 1, column 3", "density or count"},
		{"no rows", h, "line 2", "no readings"},
		{"too few fields", h + "1,a\n", "line 2, column 1", "fields"},
		{"bad timestamp", h + "1,a,1\nyesterday,a,1\n", "line 3, column 1 (timestamp)", "RFC 3339"},
		{"negative timestamp", h + "-5,a,1\n", "line 2, column 1 (timestamp)", "1970"},
		{"empty zone", h + "1, ,1\n", "line 2, column 2 (zoneId)", "empty"},
		{"negative density", h + "1,a,-0.1\n", "line 2, column 3 (density)", "non-negative"},
		{"NaN density", h + "1,a,NaN\n", "line 2, column 3 (density)", "non-negative"},
		{"fractional count", "timestamp,zoneId,count\n1,a,2.5\n", "line 2, column 3 (count)", "whole number"},
		{"bare quote", h + "1,a\"b,1\n", "line 2, column 4", "quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tt.in))
			var ce *crowd.Error
			if !errors.As(err, &ce) || ce.Code != crowd.ErrInvalid {
				t.Fatalf("error %v, want an invalid *crowd.Error", err)
			}
			if ce.Field != tt.field || !strings.Contains(ce.Message, tt.msg) {
				t.Errorf("got %q: %q, want %q containing %q", ce.Field, ce.Message, tt.field, tt.msg)
			}
		})
	}
}
