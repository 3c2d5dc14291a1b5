package mqtt

import (
	"fmt"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestBurstArrivesWhole: a burst far above what the broker sends before our
// acknowledgements arrives whole, in batches, with nothing left behind.
func TestBurstArrivesWhole(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMaxInflight(1000))
	eng := newTestEngine(t)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	p := dial(t, b)
	const n = 30000
	t0 := time.Now()
	publishBurst(t, p, n)
	t.Logf("published in %s; accepted so far %d", time.Since(t0), eng.accepted.Load())
	waitFor(t, 60*time.Second, func() bool { return eng.accepted.Load() == n },
		func() string {
			return fmt.Sprintf("accepted %d of %d in %d calls\n%s", eng.accepted.Load(), n, eng.calls.Load(), sub.log.String())
		})
	t.Logf("%d readings in %d batches, %s", n, eng.calls.Load(), time.Since(t0))
}
