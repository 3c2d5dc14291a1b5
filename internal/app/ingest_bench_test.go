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
	const sensors = 1000
	last := make([]int64, sensors)
	var body []byte
	w := &discardWriter{h: http.Header{}}
	start := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := i % sensors
		ts := max(time.Now().UnixMilli(), last[s]+1)
		last[s] = ts
		// Around the warning threshold, so levels change and alerts commit
		// now and then, as in a real crowd.
		d := 3 + float64((time.Since(start).Milliseconds()/97+int64(s))%100)/100
		body = fmt.Appendf(body[:0], `{"zoneId":"z%02d","sensorId":"s%04d","density":%s,"timestamp":%d}`,
			s%50, s, strconv.FormatFloat(d, 'f', 3, 64), ts)
		post(b, h, w, body)
	}
}

// BenchmarkPostBatch is the same engine taking batches of 1,000 readings
// (a gateway's upload, BENCHMARKS (d)); b.N counts batches.
func BenchmarkPostBatch(b *testing.B) {
	h := benchHandler(b)
	const sensors, batch = 1000, 1000
	last := make([]int64, sensors)
	var body []byte
	w := &discardWriter{h: http.Header{}}
	start := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body = append(body[:0], '[')
		for j := range batch {
			s := (i*batch + j) % sensors
			ts := max(time.Now().UnixMilli(), last[s]+1)
			last[s] = ts
			d := 3 + float64((time.Since(start).Milliseconds()/97+int64(s))%100)/100
			if j > 0 {
				body = append(body, ',')
			}
			body = fmt.Appendf(body, `{"zoneId":"z%02d","sensorId":"s%04d","density":%s,"timestamp":%d}`,
				s%50, s, strconv.FormatFloat(d, 'f', 3, 64), ts)
		}
		body = append(body, ']')
		post(b, h, w, body)
	}
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
