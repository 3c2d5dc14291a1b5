package sse

// Benchmarks of the wire encoding, the yardstick for optimising it (compare
// runs with benchstat; BENCHMARKS.md has the baseline).

import (
	"bytes"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// A real density message (about 200 bytes) and its id.
var (
	benchData = []byte(`{"type":"density","data":{"zoneId":"zone-07","density":2.412,"smoothed":2.398,"level":"watch","occupancy":0.61,"trend":0.04,"timestamp":1764270000123}}`)
	benchID   = event.NewID(1_764_270_000_123, 42)
)

// BenchmarkAppendEvent encodes one single-line event into a reused buffer,
// as a writer does for each event it does not get pre-encoded.
func BenchmarkAppendEvent(b *testing.B) {
	id := benchID.String()
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(benchData)))
	b.ReportAllocs()
	for range b.N {
		buf = AppendEvent(buf[:0], id, benchData)
	}
}

// BenchmarkAppendEventMultiline encodes a payload with line breaks (each
// becomes a data line).
func BenchmarkAppendEventMultiline(b *testing.B) {
	data := bytes.Repeat(append(append([]byte(nil), benchData...), '\n'), 4)
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for range b.N {
		buf = AppendEvent(buf[:0], "1764270000123-42", data)
	}
}

// BenchmarkEventFrame is the per-event cost of Event.Frame: "first" encodes a
// new event (once per published event), "shared" is every later subscriber
// asking for the same bytes (once per delivery).
func BenchmarkEventFrame(b *testing.B) {
	b.Run("first", func(b *testing.B) {
		evs := make([]event.Event, b.N)
		for i := range evs {
			evs[i] = event.Event{ID: benchID + event.ID(i), Topic: event.TopicDensity, Data: benchData}
		}
		b.SetBytes(int64(len(benchData)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range evs {
			if len(evs[i].Frame(Codec{})) == 0 {
				b.Fatal("empty frame")
			}
		}
	})
	b.Run("shared", func(b *testing.B) {
		e := &event.Event{ID: benchID, Topic: event.TopicDensity, Data: benchData}
		e.Frame(Codec{})
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if len(e.Frame(Codec{})) == 0 {
				b.Fatal("empty frame")
			}
		}
	})
}

// BenchmarkWriteBatch assembles one write of a batch of 8 pre-encoded events
// plus a heartbeat, as the stream writer does per wake-up.
func BenchmarkWriteBatch(b *testing.B) {
	evs := make([]*event.Event, 8)
	for i := range evs {
		evs[i] = &event.Event{ID: benchID + event.ID(i), Topic: event.TopicDensity, Data: benchData}
		evs[i].Frame(Codec{})
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for range b.N {
		buf = buf[:0]
		for _, e := range evs {
			buf = append(buf, e.Frame(Codec{})...)
		}
		buf = AppendHeartbeat(buf, 1_764_270_000_123)
	}
}
