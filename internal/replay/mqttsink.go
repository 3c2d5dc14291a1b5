package replay

import (
	"context"
	"encoding/json"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/mqtt"
)

// MQTTSink publishes each batch as one JSON array (the payload the engine's
// --mqtt ingest takes) at QoS 1 and waits until the broker has it. The
// engine's verdict does not come back this way: a refused message goes to
// the engine's dead-letter topic.
func MQTTSink(pub *mqtt.Publisher, topic string) func(context.Context, []crowd.ReadingInput) error {
	return func(ctx context.Context, batch []crowd.ReadingInput) error {
		body, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		return pub.PublishWait(ctx, topic, body)
	}
}
