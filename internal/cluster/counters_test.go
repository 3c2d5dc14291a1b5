package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// TestNewLeaderContinuesTheDoorBalance: a zone's door-counter balance is
// committed with the readings, so the instance that takes over continues
// it (a full stand does not show empty after a leader change) and still
// refuses a report its predecessor counted.
func TestNewLeaderContinuesTheDoorBalance(t *testing.T) {
	ins := cluster3(t)
	lead := leader(t, ins, 5*time.Second)
	var others []*instance
	for _, in := range ins {
		if in != lead {
			others = append(others, in)
		}
	}
	ctx := context.Background()
	ts := time.Now().Add(-time.Second).UnixMilli()
	report := func(door string, at int64, in int) []crowd.ReadingInput {
		return []crowd.ReadingInput{{ZoneID: "hall", SensorID: door, In: &in, Out: new(0), Timestamp: &at}}
	}
	if _, err := others[0].node.Ingest(ctx, report("door-1", ts, 300)); err != nil {
		t.Fatal(err)
	}
	lead.rdb.Close()
	next := leader(t, others, testTTL+3*testRenew+2*time.Second)
	_, err := next.node.Ingest(ctx, report("door-1", ts, 300))
	if crowd.ErrorCode(err) != crowd.ErrConflict {
		t.Fatalf("the report the old leader counted, sent to the new one: %v, want a conflict", err)
	}
	out, err := next.node.Ingest(ctx, report("door-2", time.Now().UnixMilli(), 5))
	if err != nil {
		t.Fatal(err)
	}
	if r := out[0]; r.Count == nil || *r.Count != 305 || r.Counters == nil || r.Counters.Persons != 305 {
		t.Fatalf("after the takeover: %+v, want the balance continued (305 persons)", r)
	}
}
