package mqtt

import (
	"context"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// TestRefusalRefusesOnlyItsMessage: messages judged in one batch, one of
// which the engine refuses for a reason only it can see (older than its
// sensor's latest reading): the others are taken, and the refused one's
// error names the reading within its own message.
func TestRefusalRefusesOnlyItsMessage(t *testing.T) {
	eng := newTestEngine(t)
	s, err := New(Options{Broker: Broker{URL: "mqtt://127.0.0.1:1", ClientID: "unit"}, Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	payloads := []string{
		reading("north-stand", "a", 1, now-5000),
		"[" + reading("gate-a", "b", 0.5, now-5000) + "," + reading("north-stand", "a", 1, now-9000) + "]", // a goes back in time
		reading("gate-a", "c", 0.5, now-4000),
		`{"zoneId":"gate-a"}`, // refused before the engine sees it
		reading("north-stand", "a", 1, now-4000),
	}
	var chunk []*message
	for _, p := range payloads {
		m := new(message)
		s.decode(m, inbound{msg: &fakeMessage{topic: "t", payload: []byte(p)}, gen: s.gen.Load()})
		chunk = append(chunk, m)
	}
	if !s.process(context.Background(), chunk, newLogLimiter(time.Minute)) {
		t.Fatal("not processed")
	}
	for i, want := range []string{"", "readings[1].timestamp", "", "readings[0].density", ""} {
		m := chunk[i]
		var field string
		if ce, ok := m.err.(*crowd.Error); ok {
			field = ce.Field
		}
		if field != want || m.accepted != (want == "") {
			t.Errorf("message %d: accepted %v err %v, want refusal at %q", i, m.accepted, m.err, want)
		}
		// Accepted ones are acknowledged; the refused ones are not, since
		// their dead letters could not be published (no broker here).
		if m.msg.(*fakeMessage).acked != (want == "") {
			t.Errorf("message %d: acked %v", i, m.msg.(*fakeMessage).acked)
		}
	}
	if eng.count("a") != 2 || eng.count("b") != 0 || eng.count("c") != 1 {
		t.Errorf("accepted a %d b %d c %d", eng.count("a"), eng.count("b"), eng.count("c"))
	}
}
