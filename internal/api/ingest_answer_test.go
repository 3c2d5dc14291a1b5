package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// oldIngestAnswer writes the answer as postReadings wrote it before
// writeIngestAnswer: writeJSON of its anonymous struct.
func oldIngestAnswer(w http.ResponseWriter, out []crowd.DensityReading) {
	writeJSON(w, http.StatusAccepted, struct {
		Accepted int                    `json:"accepted"`
		Readings []crowd.DensityReading `json:"readings"`
	}{len(out), nonNil(out)})
}

func ingestAnswerReadings() [][]crowd.DensityReading {
	n := 1625
	full := crowd.DensityReading{
		ZoneID: "north-stand", Density: 3.25, Smoothed: 3.1, Level: crowd.Warning, Count: &n,
		Occupancy: 0.75, Trend: -0.125,
		Forecast:  &crowd.Forecast{Level: crowd.Critical, Minutes: 4.5, At: 1764266400000},
		Timestamp: 1764266100000, Sensors: 3, NoData: true, Outlier: true,
		Peak:     &crowd.SensorValue{SensorID: "s<1>&\"2\"", Density: 4.2, Level: crowd.Critical},
		Counters: &crowd.CounterBalance{Persons: 1200, InPerMin: 30, OutPerMin: 12, Doors: 2, Clamped: 5},
	}
	odd := crowd.DensityReading{ZoneID: "z\u2028\x01\xff<script>", Density: 1e-7, Smoothed: 1e21,
		Occupancy: math.Copysign(0, -1), Trend: 123456789.125, Level: crowd.Level(9)}
	var many []crowd.DensityReading
	for i := range 1000 {
		r := full
		r.Density = float64(i) / 7
		r.Timestamp += int64(i)
		if i%3 == 0 {
			r.Forecast, r.Peak, r.Counters = nil, nil, nil
		}
		many = append(many, r)
	}
	return [][]crowd.DensityReading{
		nil, {}, {{}}, {full}, {odd}, {full, odd, {}}, many, {full},
	}
}

// TestIngestAnswerMatchesJSON: the answer to POST /readings is, header for
// header and byte for byte, what writeJSON of the struct wrote, the error
// answer too when a reading cannot be encoded.
func TestIngestAnswerMatchesJSON(t *testing.T) {
	nan := crowd.DensityReading{ZoneID: "z", Trend: math.NaN()}
	cases := append(ingestAnswerReadings(), []crowd.DensityReading{nan}, []crowd.DensityReading{{}, nan})
	for i, out := range cases {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		oldIngestAnswer(want, out)
		writeIngestAnswer(got, out)
		if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Fatalf("case %d: %d %v, want %d %v", i, got.Code, got.Header(), want.Code, want.Header())
		}
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
			t.Fatalf("case %d: body\n%.2000s\nwant\n%.2000s", i, got.Body.Bytes(), want.Body.Bytes())
		}
	}
}

// TestPostReadingsAnswerBytes: over HTTP, the answer's body is what
// json.Marshal of the answer struct, with a newline, gives.
func TestPostReadingsAnswerBytes(t *testing.T) {
	e := start(t, false, nil)
	var body strings.Builder
	body.WriteString("[")
	for i := range 50 {
		if i > 0 {
			body.WriteString(",")
		}
		body.WriteString(`{"zoneId":"gate-a","density":2.`)
		body.WriteString(strings.Repeat("3", i%5+1))
		body.WriteString(`}`)
	}
	body.WriteString("]")
	r := e.do("POST", Prefix+"/readings", body.String())
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got struct {
		Accepted int                    `json:"accepted"`
		Readings []crowd.DensityReading `json:"readings"`
	}
	r.decode(t, &got)
	if got.Accepted != 50 || len(got.Readings) != 50 {
		t.Fatalf("accepted %d, %d readings", got.Accepted, len(got.Readings))
	}
	want, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if want = append(want, '\n'); !bytes.Equal(r.body, want) {
		t.Fatalf("body\n%s\nwant\n%s", r.body, want)
	}
	if ct, cc := r.header.Get("Content-Type"), r.header.Get("Cache-Control"); ct != "application/json; charset=utf-8" || cc != "no-store" {
		t.Fatalf("Content-Type %q, Cache-Control %q", ct, cc)
	}
}

// BenchmarkIngestAnswer is the answer to a batch of 1,000 readings, as
// writeJSON wrote it and as writeIngestAnswer writes it.
func BenchmarkIngestAnswer(b *testing.B) {
	out := ingestAnswerReadings()[6]
	w := httptest.NewRecorder()
	for _, c := range []struct {
		name  string
		write func(http.ResponseWriter, []crowd.DensityReading)
	}{{"writeJSON", oldIngestAnswer}, {"writeIngestAnswer", writeIngestAnswer}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.Body.Reset()
				c.write(w, out)
			}
		})
	}
}
