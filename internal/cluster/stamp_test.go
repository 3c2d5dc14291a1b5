package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// TestUnstampedReadingsOnLeaderAndFollowerAreNeverOutOfOrder: readings
// without a timestamp for one zone, posted at once to the leader and to a
// follower (whose stamp is a moment older than the leader's own readings by
// the time it is forwarded), are all taken (issue 11: 158 of 300 follower
// posts were refused as out of order).
func TestUnstampedReadingsOnLeaderAndFollowerAreNeverOutOfOrder(t *testing.T) {
	ins := cluster3(t)
	lead := leader(t, ins, 5*time.Second)
	var follower *instance
	for _, in := range ins {
		if in != lead {
			follower = in
		}
	}
	const n = 150
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for _, in := range []*instance{lead, follower} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if _, err := in.node.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "ramp", Density: f64(0.8)}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	refused := 0
	var first error
	for err := range errs {
		refused++
		if first == nil {
			first = err
		}
	}
	if refused > 0 {
		t.Fatalf("%d of %d unstamped readings refused; first: %v", refused, 2*n, first)
	}
}
