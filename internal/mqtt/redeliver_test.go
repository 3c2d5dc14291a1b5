package mqtt

import (
	"fmt"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestTakenMessagesDoNotComeAgain: what one engine took (and so
// acknowledged) is not sent again to the next engine of the same session.
func TestTakenMessagesDoNotComeAgain(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMaxInflight(1000))
	eng := newTestEngine(t)
	first := startSubscriber(t, b, "engine-1", eng)
	first.waitConnected(t)
	p := dial(t, b)
	const n = 30000
	publishBurst(t, p, n)
	waitFor(t, 60*time.Second, func() bool { return eng.accepted.Load() == n },
		func() string { return fmt.Sprintf("accepted %d of %d", eng.accepted.Load(), n) })
	first.stop()
	eng2 := newTestEngine(t)
	second := startSubscriber(t, b, "engine-1", eng2)
	second.waitConnected(t)
	time.Sleep(2 * time.Second)
	if got := eng2.accepted.Load(); got != 0 {
		t.Fatalf("the next engine got %d readings the first had taken", got)
	}
}
