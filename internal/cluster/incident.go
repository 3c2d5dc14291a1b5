package cluster

import (
	"context"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// RecordIncident writes an incident-log line through the leader's engine
// (the notifier's escalations, which run on the leader only). On a
// follower it fails: the notifier is not running there.
func (n *Node) RecordIncident(ctx context.Context, in crowd.Incident) error {
	if e := n.engine(); e != nil {
		return e.RecordIncident(ctx, in)
	}
	return errNotLeader
}

var errNotLeader = crowd.Errorf(crowd.ErrUnavailable, "this instance is not the leader")
