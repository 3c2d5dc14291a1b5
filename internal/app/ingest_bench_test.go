package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkPostReading is the engine's CPU per reading on the way a venue
// full of small sensors uses it: one reading per POST, 1,000 sensors over
// 50 zones, through the whole HTTP handler (middleware, strict decoding,
// the rules, the answer) on a real SQLite file. Not the network: that is
// `crowdrisk bench --ingest --sensors` (BENCHMARKS.md).
func BenchmarkPostReading(b *testing.B) {
	h := benchHandler(b)
	g := newBenchSensors(1000)
	var body []byte
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body = g.appendReading(body[:0], i)
		post(b, h, w, body)
	}
}

// BenchmarkPostBatch is the same engine taking batches of 1,000 readings
// (a gateway's upload, BENCHMARKS (d)); b.N counts batches.
func BenchmarkPostBatch(b *testing.B) {
	h := benchHandler(b)
	const batch = 1000
	g := newBenchSensors(1000)
	var body []byte
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body = append(body[:0], '[')
		for j := range batch {
			if j > 0 {
				body = append(body, ',')
			}
			body = g.appendReading(body, i*batch+j)
		}
		body = append(body, ']')
		post(b, h, w, body)
	}
}

// benchSensors are the benchmarks' sensors: sensor i%n of zone i%50, each
// with strictly increasing timestamps.
type benchSensors struct {
	last  []int64
	start time.Time
}

func newBenchSensors(n int) *benchSensors {
	return &benchSensors{last: make([]int64, n), start: time.Now()}
}

// appendReading appends the i-th reading as JSON.
func (g *benchSensors) appendReading(dst []byte, i int) []byte {
	s := i % len(g.last)
	ts := max(time.Now().UnixMilli(), g.last[s]+1)
	g.last[s] = ts
	// Around the warning threshold, so levels change and alerts commit
	// now and then, as in a real crowd.
	d := 3 + float64((time.Since(g.start).Milliseconds()/97+int64(s))%100)/100
	return fmt.Appendf(dst, `{"zoneId":"z%02d","sensorId":"s%04d","density":%s,"timestamp":%d}`,
		s%50, s, strconv.FormatFloat(d, 'f', 3, 64), ts)
}

func post(b *testing.B, h http.Handler, w *discardWriter, body []byte) {
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/api/crowd-risk/readings", bytes.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/json")
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != http.StatusAccepted {
		b.Fatalf("status %d", w.status)
	}
}

// benchHandler is the whole engine's handler over a 50-zone venue and a
// real SQLite file.
func benchHandler(b *testing.B) http.Handler {
	dir := b.TempDir()
	var v strings.Builder
	v.WriteString(`{"name": "Bench venue", "zones": [`)
	for z := range 50 {
		if z > 0 {
			v.WriteByte(',')
		}
		fmt.Fprintf(&v, `{"id": "z%02d", "kind": "standing", "areaM2": 500, "capacity": 1500}`, z)
	}
	v.WriteString(`]}`)
	venue := filepath.Join(dir, "venue.json")
	if err := os.WriteFile(venue, []byte(v.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := ParseFlags([]string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--simulate=false",
		"--rate-limit", "-1", "--venue", venue}, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.abandon)
	return a.server.Handler
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}
func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) { w.status = code }
