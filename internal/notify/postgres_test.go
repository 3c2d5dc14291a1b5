package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store/postgres"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
	"github.com/crowdrisk/crowdrisk/internal/venue"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The same delivery on the shared store of several instances.
func TestDeliversOnPostgreSQL(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	eng, err := engine.New(ctx, engine.Options{Venue: venue.Demo(), Store: s, Publisher: nopPublisher{},
		Sequencer: event.NewSequencer(event.NewID(time.Now().UnixMilli(), 0), nil)})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, "fail")
	n, err := New(Options{Store: s, Receivers: []Receiver{{Name: "ops", URL: rcv.URL}}, Secret: secret,
		Poll: 20 * time.Millisecond, BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init(ctx); err != nil {
		t.Fatal(err)
	}
	run(t, n)
	a, err := eng.TestAlert(ctx, "gate-a", crowd.Critical, "", "tester")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Acknowledge(ctx, a.ID, "op"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed attempts", 5*time.Second, func() bool { return rcv.attempts() >= 2 })
	rcv.setMode("ok")
	waitFor(t, "both changes", 10*time.Second, func() bool { return len(checkHits(t, rcv.hits())[a.ID]) == 2 })
	if got := fmt.Sprint(checkHits(t, rcv.hits())[a.ID]); got != "[raise resolve]" {
		t.Fatalf("changes %s", got)
	}
}
