package cluster

import (
	"context"
	"time"
)

// follow reads the shared stream from the node's start position and
// publishes every event into the local hub and the view, in stream order.
// While Redis is away it retries; the position it keeps means nothing is
// skipped when Redis comes back with its data.
func (n *Node) follow(ctx context.Context) {
	pos := n.view.position()
	for ctx.Err() == nil {
		evs, err := n.events.Read(ctx, pos, 500, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				n.setRedisErr(err)
				sleep(ctx, 250*time.Millisecond)
			}
			continue
		}
		if len(evs) == 0 {
			continue
		}
		n.opts.Hub.Publish(evs...)
		n.view.apply(evs)
		pos = evs[len(evs)-1].ID
	}
}
