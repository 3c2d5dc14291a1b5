package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

func TestPostReadingsAccepts(t *testing.T) {
	e := start(t, false, nil)
	ts := t0.UnixMilli() - 1000

	r := e.do("POST", Prefix+"/readings", fmt.Sprintf(`{"zoneId":"north-stand","density":2.4,"timestamp":%d}`, ts))
	if r.status != http.StatusAccepted {
		t.Fatalf("single object: %d %s", r.status, r.body)
	}
	var got struct {
		Accepted int                    `json:"accepted"`
		Readings []crowd.DensityReading `json:"readings"`
	}
	r.decode(t, &got)
	if got.Accepted != 1 || len(got.Readings) != 1 || got.Readings[0].Density != 2.4 || got.Readings[0].Timestamp != ts {
		t.Fatalf("single object: %+v", got)
	}

	r = e.do("POST", Prefix+"/readings", ` [ {"zoneId":"north-stand","count":310},
		{"zoneId":"gate-a","density":1.5,"inflowPerMin":40,"outflowPerMin":35} ] `)
	if r.status != http.StatusAccepted {
		t.Fatalf("array: %d %s", r.status, r.body)
	}
	r.decode(t, &got)
	if got.Accepted != 2 || got.Readings[0].Density != 3.1 || got.Readings[1].ZoneID != "gate-a" {
		t.Fatalf("array: %+v", got)
	}
	if n := len(e.engine.Latest()); n != 2 {
		t.Fatalf("engine holds %d zones, want 2", n)
	}
}

func TestPostReadingsRefuses(t *testing.T) {
	past := t0.UnixMilli() - 60_000
	future := t0.Add(time.Hour).UnixMilli()
	good := `{"zoneId":"north-stand","density":1}`
	cases := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"malformed JSON", `{"zoneId":"north-stand","density":}`, 400, "invalid", "readings[0]"},
		{"truncated", `[{"zoneId":"north-stand","density":1}`, 400, "invalid", "readings"},
		{"empty body", ``, 400, "invalid", ""},
		{"null", `null`, 400, "invalid", "readings"},
		{"a number", `42`, 400, "invalid", "readings"},
		{"empty array", `[]`, 400, "invalid", "readings"},
		{"unknown zone", `[` + good + `,{"zoneId":"moon","density":1}]`, 400, "invalid", "readings[1].zoneId"},
		{"missing zone", `{"density":1}`, 400, "invalid", "readings[0].zoneId"},
		{"missing density", `[` + good + `,` + good + `,{"zoneId":"gate-a"}]`, 400, "invalid", "readings[2].density"},
		{"negative density", `{"zoneId":"gate-a","density":-0.5}`, 400, "invalid", "readings[0].density"},
		{"non-finite density", `{"zoneId":"gate-a","density":1e999}`, 400, "invalid", "readings[0].density"},
		{"string density", `{"zoneId":"gate-a","density":"2.4"}`, 400, "invalid", "readings[0].density"},
		{"NaN density", `{"zoneId":"gate-a","density":NaN}`, 400, "invalid", "readings[0]"},
		{"absurd density", `{"zoneId":"gate-a","density":1e300}`, 400, "invalid", "readings[0].density"},
		{"density and count", `{"zoneId":"gate-a","density":1,"count":3}`, 400, "invalid", "readings[0].density"},
		{"negative count", `{"zoneId":"gate-a","count":-3}`, 400, "invalid", "readings[0].count"},
		{"fractional count", `{"zoneId":"gate-a","count":2.5}`, 400, "invalid", "readings[0].count"},
		{"negative inflow", `{"zoneId":"gate-a","density":1,"inflowPerMin":-1}`, 400, "invalid", "readings[0].inflowPerMin"},
		{"zero timestamp", `{"zoneId":"gate-a","density":1,"timestamp":0}`, 400, "invalid", "readings[0].timestamp"},
		{"string timestamp", `{"zoneId":"gate-a","density":1,"timestamp":"now"}`, 400, "invalid", "readings[0].timestamp"},
		{"far future", fmt.Sprintf(`[%s,{"zoneId":"gate-a","density":1,"timestamp":%d}]`, good, future), 400, "invalid", "readings[1].timestamp"},
		{"older than latest", fmt.Sprintf(`{"zoneId":"north-stand","density":1,"timestamp":%d}`, past-1), 400, "invalid", "readings[0].timestamp"},
		{"out of order in batch", fmt.Sprintf(`[{"zoneId":"gate-a","density":1,"timestamp":%d},{"zoneId":"gate-a","density":1,"timestamp":%d}]`, past+2, past+1), 400, "invalid", "readings[1].timestamp"},
		{"unknown field", `{"zoneId":"gate-a","density":1,"densty":2}`, 400, "invalid", "readings[0].densty"},
		{"trailing data", good + ` {"zoneId":"gate-a","density":1}`, 400, "invalid", ""},
		{"trailing garbage after array", `[` + good + `] x`, 400, "invalid", ""},
		{"missing comma", `[` + good + ` ` + good + `]`, 400, "invalid", "readings[1]"},
		{"too many", "[" + strings.Repeat(good+",", MaxBatch) + good + "]", 413, "too_large", "readings"},
		{"body too large", `{"zoneId":"gate-a","density":1,"pad":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "too_large", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, false, func(o *Options) { o.MaxBodyBytes = 1 << 20 })
			if c.name == "too many" {
				e = start(t, false, func(o *Options) { o.MaxBodyBytes = 8 << 20 })
			}
			// A reading already in place, for "older than latest".
			if r := e.do("POST", Prefix+"/readings", fmt.Sprintf(`{"zoneId":"north-stand","density":0.5,"timestamp":%d}`, past)); r.status != 202 {
				t.Fatalf("setup: %d %s", r.status, r.body)
			}
			before := e.engine.Latest()
			r := e.do("POST", Prefix+"/readings", c.body)
			err := wantError(t, r, c.status, c.code, c.field)
			if err.Message == "" {
				t.Fatal("error without a message")
			}
			if after := e.engine.Latest(); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("a refused batch changed the engine: %v -> %v", before, after)
			}
		})
	}
}

func TestDecodeReadingsMessages(t *testing.T) {
	for body, want := range map[string]string{
		`{"zoneId":"z","density":1e999}`:   "finite number",
		`{"zoneId":"z","density":"1"}`:     "must be a number",
		`{"zoneId":"z","count":1.5}`:       "whole number",
		`{"zoneId":"z","density":1,"x":1}`: "unknown field",
		`{"zoneId":"z","ZoneId":"y"}`:      "case-sensitive",
		`{"zoneId":"z","zoneId":"y"}`:      "given twice",
		`[{"zoneId":"z"},{"zoneid":"z"}]`:  `readings[1].zoneid: unknown field; names are case-sensitive: write "zoneId"`,
		`{"zoneId":3,"density":1}`:         "must be a string",
	} {
		_, err := DecodeReadings(strings.NewReader(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to say %q", body, err, want)
		}
	}
}

// TestCheckKeysHostileShapes: the key walk must answer a huge object, a
// deep nesting and escaped keys correctly and in bounded time.
func TestCheckKeysHostileShapes(t *testing.T) {
	var big strings.Builder
	big.WriteString(`{"zoneId":"z","density":1`)
	for i := range 50000 {
		fmt.Fprintf(&big, `,"k%d":1`, i)
	}
	big.WriteString(`,"k49999":2}`)
	if _, err := DecodeReadings(strings.NewReader(big.String())); err == nil || !strings.Contains(err.Error(), "k49999") || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("a member given twice after 50,000 others: %v", err)
	}
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	if _, err := DecodeReadings(strings.NewReader(deep)); err == nil {
		t.Error("20,000 nested arrays were accepted")
	}
	if _, err := DecodeReadings(strings.NewReader("{\"zoneId\":\"gate\xff\",\"density\":1}")); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	// An escaped key is the same key: "zone\u0049d" is zoneId.
	if _, err := DecodeReadings(strings.NewReader(`{"zoneId":"z","zone\u0049d":"y","density":1}`)); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("an escaped duplicate: %v", err)
	}
	if _, err := DecodeReadings(strings.NewReader(`[{"zoneId":"a\"b","density":1}]`)); err != nil {
		t.Errorf("an escaped quote in a value: %v", err)
	}
}
