package hub

// Benchmarks of the fan-out, the yardstick for optimising it (compare runs
// with benchstat; BENCHMARKS.md has the baseline). They use the exported
// API only, so they keep measuring the same thing while the inside changes.

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

const benchZones = 20

// benchPayload is the size of a real density message (about 200 bytes).
var benchPayload = []byte(`{"type":"density","data":{"zoneId":"zone-07","density":2.412,"smoothed":2.398,"level":"watch","occupancy":0.61,"trend":0.04,"timestamp":1764270000123}}`)

// benchSource makes events with increasing ids: density readings that
// rotate over the zones, and alerts that rotate over ten alert ids.
type benchSource struct{ seq, zone, alerts uint64 }

func (s *benchSource) density() *event.Event {
	s.seq++
	s.zone++
	z := fmt.Sprintf("zone-%02d", s.zone%benchZones)
	return &event.Event{ID: event.NewID(1_764_270_000_000, s.seq), Topic: event.TopicDensity, Type: event.TypeDensity,
		Key: z, StateKey: "zone:" + z, Data: benchPayload}
}

func (s *benchSource) alert() *event.Event {
	s.seq++
	s.alerts++
	return &event.Event{ID: event.NewID(1_764_270_000_000, s.seq), Topic: event.TopicAlerts, Type: event.TypeAlert,
		StateKey: fmt.Sprintf("alert:%d", s.alerts%10), Data: benchPayload}
}

func benchSubscribe(b *testing.B, h *Hub, n int) []*Subscriber {
	b.Helper()
	subs := make([]*Subscriber, n)
	for i := range subs {
		s, _, err := h.Subscribe(context.Background(), []event.Topic{event.TopicDensity}, "bench", "")
		if err != nil {
			b.Fatal(err)
		}
		subs[i] = s
	}
	return subs
}

// BenchmarkPublishFanout publishes one density event per op to n
// subscribers, each drained by its own goroutine as a stream writer would.
// ns/op is the publisher's cost of one event; ns/delivery spreads the whole
// run over every delivery; conflated/op counts deliveries a slow drain let
// a newer reading replace.
func BenchmarkPublishFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := New(Options{HistorySize: 1000})
			defer h.Close()
			subs := benchSubscribe(b, h, n)
			var delivered atomic.Int64
			var wg sync.WaitGroup
			for _, s := range subs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var batch Batch
					for {
						select {
						case <-s.Ready():
							if !s.Take(&batch) {
								return
							}
							delivered.Add(int64(len(batch.Events)))
						case <-s.Done():
							return
						}
					}
				}()
			}
			src := &benchSource{}
			events := make([]*event.Event, b.N)
			for i := range events {
				events[i] = src.density()
			}
			base := h.Stats().Conflated
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for _, e := range events {
				h.Publish(e)
			}
			// Every queued event is either taken or conflated away.
			want := int64(b.N) * int64(n)
			for delivered.Load()+h.Stats().Conflated-base < want {
				runtime.Gosched()
			}
			elapsed := time.Since(start)
			b.StopTimer()
			conflated := h.Stats().Conflated - base
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(want), "ns/delivery")
			b.ReportMetric(float64(conflated)/float64(b.N), "conflated/op")
			h.Close()
			wg.Wait()
		})
	}
}

// BenchmarkPublishTake publishes one event to n subscribers and takes it
// from each in the same goroutine: the CPU cost of one delivery through the
// hub with no scheduling noise.
func BenchmarkPublishTake(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := New(Options{HistorySize: 1000})
			defer h.Close()
			subs := benchSubscribe(b, h, n)
			src := &benchSource{}
			var batch Batch
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.Publish(src.density())
				for _, s := range subs {
					s.Take(&batch)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}

// benchHistoryHub is a hub with a full history: density readings of 20
// zones with an alert every tenth event.
func benchHistoryHub(size int) (*Hub, []*event.Event) {
	h := New(Options{HistorySize: size})
	src := &benchSource{}
	evs := make([]*event.Event, size)
	for i := range evs {
		if i%10 == 9 {
			evs[i] = src.alert()
		} else {
			evs[i] = src.density()
		}
	}
	h.Publish(evs...)
	return h, evs
}

// BenchmarkSubscribeReplay is a client resuming from the middle of a
// 10,000-event history on both topics: registration, the replay slice and
// the checkpoint, then the unsubscribe.
func BenchmarkSubscribeReplay(b *testing.B) {
	h, evs := benchHistoryHub(10000)
	defer h.Close()
	last := evs[len(evs)/2].ID.String()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, st, err := h.Subscribe(context.Background(), event.Topics, "bench", last)
		if err != nil || len(st.Replay) != len(evs)/2-1 {
			b.Fatalf("replay of %d events, err %v", len(st.Replay), err)
		}
		h.Unsubscribe(s)
	}
}

// BenchmarkSubscribeSnapshot is a fresh client: registration and the
// snapshot of every zone and open alert.
func BenchmarkSubscribeSnapshot(b *testing.B) {
	h, _ := benchHistoryHub(10000)
	defer h.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, st, err := h.Subscribe(context.Background(), event.Topics, "bench", "")
		if err != nil || len(st.Snapshot) != benchZones+10 {
			b.Fatalf("snapshot of %d events, err %v", len(st.Snapshot), err)
		}
		h.Unsubscribe(s)
	}
}
