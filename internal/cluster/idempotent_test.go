package cluster

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/redisbus"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// TestForwardedCommandRunsOnce (issue 12): a leader that carried out a
// forwarded command and died before recording its reply leaves the command
// in the queue; the next leader must not carry it out again. Executing one
// command twice stands for that: the key is committed with the effects.
func TestForwardedCommandRunsOnce(t *testing.T) {
	ins := cluster3(t)
	lead := leader(t, ins, 5*time.Second)
	ctx := context.Background()
	body, _ := json.Marshal(request{ZoneID: "hall", Level: crowd.Warning, Message: "drill", Actor: "op"})
	cmd := redisbus.Command{ID: "1764270000000-7", Op: opTestAlert, Body: body, Deadline: time.Now().Add(time.Minute)}
	var first, second reply
	json.Unmarshal(lead.node.execute(ctx, lead.node.leadership(), cmd), &first)
	json.Unmarshal(lead.node.execute(ctx, lead.node.leadership(), cmd), &second)
	if first.Error != nil || first.Alert == nil {
		t.Fatalf("first run: %+v", first)
	}
	if second.Error == nil || second.Error.Code != crowd.ErrConflict {
		t.Fatalf("the replay was carried out again or answered wrongly: %+v", second)
	}
	as, err := lead.node.opts.Store.Alerts(ctx, store.AlertFilter{})
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts in the store after a replayed command: %d (%v)", len(as), err)
	}
	// An acknowledgement replayed answers with the alert as it is.
	body, _ = json.Marshal(request{ID: first.Alert.ID, Actor: "op"})
	ack := redisbus.Command{ID: "1764270000000-8", Op: opAcknowledge, Body: body, Deadline: time.Now().Add(time.Minute)}
	first, second = reply{}, reply{}
	json.Unmarshal(lead.node.execute(ctx, lead.node.leadership(), ack), &first)
	json.Unmarshal(lead.node.execute(ctx, lead.node.leadership(), ack), &second)
	if first.Error != nil || second.Error != nil || second.Alert == nil || second.Alert.ID != first.Alert.ID {
		t.Fatalf("acknowledge and its replay: %+v / %+v", first, second)
	}
}
