package mqtt

import (
	"context"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Publisher sends readings to a broker at QoS 1 (crowdrisk replay, the
// benchmark, tests).
type Publisher struct {
	client paho.Client
}

// Dial connects a publisher (a clean session: it has nothing to resume).
func Dial(ctx context.Context, b Broker) (*Publisher, error) {
	addr, err := b.parse()
	if err != nil {
		return nil, err
	}
	if b.ClientID == "" {
		b.ClientID = fmt.Sprintf("crowdrisk-pub-%d", time.Now().UnixNano())
	}
	c := paho.NewClient(addr.clientOptions(b.ClientID).SetCleanSession(true))
	if err := wait(ctx, c.Connect()); err != nil {
		return nil, fmt.Errorf("mqtt %s: %w", addr.host, connectError(err))
	}
	return &Publisher{client: c}, nil
}

// Publish sends one message; the token completes when the broker has it.
func (p *Publisher) Publish(topic string, payload []byte) paho.Token {
	return p.client.Publish(topic, 1, false, payload)
}

// PublishWait sends one message and waits until the broker has it.
func (p *Publisher) PublishWait(ctx context.Context, topic string, payload []byte) error {
	return wait(ctx, p.Publish(topic, payload))
}

// Close disconnects after a moment for what is still in flight.
func (p *Publisher) Close() { p.client.Disconnect(1000) }
