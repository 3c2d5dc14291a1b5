package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/sse"
)

func densityMessage(t *testing.T, r crowd.DensityReading) []byte {
	t.Helper()
	// The engine's envelope: a struct, so "type" comes first.
	b, err := json.Marshal(struct {
		Type string               `json:"type"`
		Data crowd.DensityReading `json:"data"`
	}{"density", r})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The shortcut parser must agree with a real JSON decode, including when a
// forecast (with its own instant) precedes the timestamp.
func TestParseDensityAgreesWithJSON(t *testing.T) {
	count := 310
	for _, r := range []crowd.DensityReading{
		{ZoneID: "north-gate", Density: 2.4, Level: crowd.Watch, Timestamp: 1_764_270_000_123},
		{ZoneID: "Zone Ä 7", Density: 4.1, Count: &count, Trend: 0.2, Timestamp: 1_764_270_000_999,
			Forecast: &crowd.Forecast{Level: crowd.Critical, Minutes: 9.5, At: 1_764_270_570_999}},
	} {
		msg := densityMessage(t, r)
		zone, ts, ok := parseDensity(msg)
		if !ok || string(zone) != r.ZoneID || ts != r.Timestamp {
			t.Errorf("%s: got %q %d %v, want %q %d", msg, zone, ts, ok, r.ZoneID, r.Timestamp)
		}
	}
	for _, msg := range []string{
		`{"type":"connected","timestamp":1764270000000}`,
		`{"type":"alert","data":{"zoneId":"a","timestamp":1}}`,
		`{"type":"density","data":{"zoneId":"a"}}`,
		`{"type":"density","data":{"zoneId":"a","timestamp":"x"}}`,
	} {
		if _, _, ok := parseDensity([]byte(msg)); ok {
			t.Errorf("%s: parsed as a density reading", msg)
		}
	}
}

// The minimal reader yields the same data as the spec-complete parser for
// what the engine's encoder writes: ids, checkpoints, heartbeats, retry,
// multi-line data and a line longer than the reader's buffer.
func TestEventReaderMatchesSpecParser(t *testing.T) {
	var stream []byte
	stream = sse.AppendEvent(stream, "", []byte(`{"type":"connected","timestamp":1}`))
	stream = sse.AppendEvent(stream, "1764270000000-1", []byte(`{"type":"density","data":{"zoneId":"a","timestamp":5}}`))
	stream = sse.AppendCheckpoint(stream, "1764270000000-2")
	stream = sse.AppendHeartbeat(stream, 1764270000000)
	stream = sse.AppendRetry(stream, 1500)
	stream = sse.AppendEvent(stream, "1764270000000-3", []byte("line one\nline two\r\nline three"))
	stream = sse.AppendEvent(stream, "", []byte(`{"long":"`+strings.Repeat("x", 5000)+`"}`))
	stream = sse.AppendComment(stream, "bye")

	var want []string
	p := sse.NewParser(bytes.NewReader(stream))
	for {
		it, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if it.Kind == sse.KindMessage {
			want = append(want, it.Message.Data)
		}
	}

	r := &eventReader{r: bufio.NewReaderSize(bytes.NewReader(stream), 2048)}
	var got []string
	for {
		d, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(d))
	}
	if len(got) != len(want) || len(want) != 4 {
		t.Fatalf("got %d messages, spec parser %d (want 4)", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %.60q, want %.60q", i, got[i], want[i])
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	// 1,000 samples: 1..1000 ms.
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	s := h.summary()
	within := func(name string, got, want float64) {
		if got < want || got > want*1.011 {
			t.Errorf("%s = %.3f ms, want %.0f ms within the 1 %% bucket width", name, got, want)
		}
	}
	within("p50", s.P50, 500)
	within("p99", s.P99, 990)
	within("p99.9", s.P999, 999)
	if s.Max != 1000 || s.Samples != 1000 {
		t.Errorf("max %v samples %d", s.Max, s.Samples)
	}
	// Sub-millisecond values land in 10 µs buckets.
	var small histogram
	small.record(123 * time.Microsecond)
	if q := small.quantile(0.5); q != 123*time.Microsecond {
		t.Errorf("single sample quantile %v (capped by the max seen)", q)
	}
	small.record(2 * time.Hour) // beyond the last bucket: kept, not lost
	if small.count() != 2 || small.quantile(1) != 2*time.Hour {
		t.Errorf("overflow: count %d, max quantile %v", small.count(), small.quantile(1))
	}
}

func TestParsePromText(t *testing.T) {
	m, err := parsePromText(strings.NewReader(`# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.5165824e+07
process_cpu_seconds_total 1.23
crowdrisk_streams_open{topic="density"} 5000
crowdrisk_streams_open{topic="alerts"} 0
crowdrisk_delivery_latency_seconds_bucket{le="+Inf"} 17 1764270000000
`))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{
		"process_resident_memory_bytes":                        25165824,
		"process_cpu_seconds_total":                            1.23,
		`crowdrisk_streams_open{topic="density"}`:              5000,
		`crowdrisk_delivery_latency_seconds_bucket{le="+Inf"}`: 17,
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if _, err := parsePromText(strings.NewReader("broken_line\n")); err == nil {
		t.Error("a line without a value must be an error")
	}
}

func TestAppendReadingsIsValidJSON(t *testing.T) {
	b := appendReadings(nil, []reading{{zone: `q"uote`, density: 1.23456, ts: 1764270000000}, {zone: "b", density: 0, ts: 1}})
	var in []crowd.ReadingInput
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(in) != 2 || in[0].ZoneID != `q"uote` || *in[0].Density != 1.235 || *in[1].Timestamp != 1 {
		t.Fatalf("%s decoded as %+v", b, in)
	}
	if n, err := acceptedCount([]byte(`{"accepted":1000,"readings":[]}`)); n != 1000 || err != nil {
		t.Errorf("accepted count %d %v", n, err)
	}
	if _, err := acceptedCount([]byte(`{"error":{}}`)); err == nil {
		t.Error("a body without a count must be an error")
	}
}

// TestSplitEventsMatchesSpecParserAtAnySplit feeds the poller's splitter the
// same stream as the spec parser, cut into reads at every possible point.
func TestSplitEventsMatchesSpecParserAtAnySplit(t *testing.T) {
	var stream []byte
	stream = sse.AppendEvent(stream, "", []byte(`{"type":"connected","timestamp":1}`))
	stream = sse.AppendEvent(stream, "1764270000000-1", []byte(`{"type":"density","data":{"zoneId":"a","timestamp":5}}`))
	stream = sse.AppendCheckpoint(stream, "1764270000000-2")
	stream = sse.AppendHeartbeat(stream, 1764270000000)
	stream = sse.AppendRetry(stream, 1500)
	stream = sse.AppendEvent(stream, "1764270000000-3", []byte("line one\nline two\r\nline three"))
	msgs, _, err := sse.ReadAll(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	for cut := 1; cut < len(stream); cut++ {
		var got []string
		var pending, scratch []byte
		for _, part := range [][]byte{stream[:cut], stream[cut:]} {
			pending = append(pending, part...)
			used := splitEvents(pending, &scratch, func(d []byte) { got = append(got, string(d)) })
			pending = append(pending[:0], pending[used:]...)
		}
		if len(got) != len(msgs) {
			t.Fatalf("cut at %d: %d events, spec parser %d", cut, len(got), len(msgs))
		}
		for i, m := range msgs {
			if got[i] != m.Data {
				t.Fatalf("cut at %d, event %d: %q, want %q", cut, i, got[i], m.Data)
			}
		}
	}
}
