package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// TestTakeoverDelaysNoAlert (issue 12): a zone half way into its 30 s
// warning dwell when the leader stops; the new leader warms its rules from
// the readings it followed, so the warning comes when the predecessor would
// have raised it, not a dwell after the takeover.
func TestTakeoverDelaysNoAlert(t *testing.T) {
	ins := cluster3(t)
	lead := leader(t, ins, 5*time.Second)
	var others []*instance
	for _, in := range ins {
		if in != lead {
			others = append(others, in)
		}
	}
	ctx := context.Background()
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	post := func(n *Node, from, count int, d float64) {
		t.Helper()
		var in []crowd.ReadingInput
		for i := from; i < from+count; i++ {
			ts := start.Add(time.Duration(i) * time.Second).UnixMilli()
			in = append(in, crowd.ReadingInput{ZoneID: "ramp", Density: f64(d), Timestamp: &ts})
		}
		if _, err := n.Ingest(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	post(lead.node, 0, 10, 0.5)
	post(lead.node, 10, 20, 2.5) // warning (2.0) for a moving zone, from 10 s
	// Let the followers follow everything the leader published.
	last := lead.node.leadership().seq.Last()
	for _, in := range others {
		if !in.node.view.waitFor(ctx, last, 5*time.Second) {
			t.Fatalf("a follower did not follow up to %v", last)
		}
	}
	lead.stop()
	<-lead.done
	next := leader(t, others, 10*time.Second)
	// The smoothed density reached warning at 15 s (the median of the
	// 10 s window), so the predecessor would have raised it at 45 s;
	// without warming, the new leader would at 61 s.
	post(next.node, 30, 20, 2.5)
	open, err := next.node.Alerts(ctx, store.AlertFilter{Open: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Kind != crowd.KindDensity || open[0].Level != crowd.Warning {
		t.Fatalf("open alerts 20 s after the takeover: %+v", open)
	}
	if at := time.UnixMilli(open[0].Timestamp).Sub(start); at > 46*time.Second {
		t.Fatalf("warning raised at %s, the predecessor's dwell ended at 45 s", at)
	}
}
