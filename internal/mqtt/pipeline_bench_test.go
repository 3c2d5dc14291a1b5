package mqtt

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// fakeMessage is a paho.Message built by a test (no broker): for the
// pipeline's own cost and for unit tests of batching.
type fakeMessage struct {
	topic   string
	payload []byte
	acked   bool
}

func (m *fakeMessage) Duplicate() bool   { return false }
func (m *fakeMessage) Qos() byte         { return 1 }
func (m *fakeMessage) Retained() bool    { return false }
func (m *fakeMessage) Topic() string     { return m.topic }
func (m *fakeMessage) MessageID() uint16 { return 1 }
func (m *fakeMessage) Payload() []byte   { return m.payload }
func (m *fakeMessage) Ack()              { m.acked = true }

// BenchmarkPipeline is the subscriber's work per single-reading message,
// decoding to acknowledgement, on the real engine, in chunks of 1,000.
func BenchmarkPipeline(b *testing.B) {
	eng := newTestEngine(b)
	s, err := New(Options{Broker: Broker{URL: "mqtt://127.0.0.1:1", ClientID: "bench"}, Engine: eng})
	if err != nil {
		b.Fatal(err)
	}
	limiter := newLogLimiter(time.Minute)
	base := time.Now().UnixMilli() - 3600_000
	b.ResetTimer()
	for i := 0; i < b.N; {
		chunk := make([]*message, 0, 1000)
		for j := 0; j < 1000 && i < b.N; j, i = j+1, i+1 {
			msg := &fakeMessage{topic: "crowdrisk/readings/x", payload: []byte(reading("north-stand", fmt.Sprintf("s-%d", j%8), 1, base+int64(i/8)))}
			m := new(message)
			s.decode(m, inbound{msg: msg, gen: s.gen.Load()})
			chunk = append(chunk, m)
		}
		if !s.process(context.Background(), chunk, limiter) {
			b.Fatal("not processed")
		}
	}
}
