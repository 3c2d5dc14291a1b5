package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/crowdrisk/crowdrisk/internal/api"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Ingester is the engine the readings go to: internal/engine.Engine, or a
// cluster node that forwards them to the leader.
type Ingester interface {
	Venue() crowd.Venue
	// Ingest applies a batch whole or not at all; a refused reading's error
	// is a *crowd.Error whose Field starts with its index ("[3].density").
	Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error)
}

// Observer receives the subscriber's counts (internal/metrics).
type Observer interface {
	MQTTConnected(bool)
	// MQTTMessages counts messages by result: accepted, invalid (dead-
	// lettered) or retried (the engine could not take them yet).
	MQTTMessages(result string, n int)
	MQTTReadings(n int)
	MQTTDeadLetters(n int)
	MQTTReconnect()
}

// Message results for Observer.MQTTMessages.
const (
	ResultAccepted = "accepted"
	ResultInvalid  = "invalid"
	ResultRetried  = "retried"
	// ResultDuplicate is a door's report that the engine had counted
	// already: MQTT is at-least-once, so a message taken just as the
	// connection dropped comes again. It is acknowledged, not dead-lettered.
	ResultDuplicate = "duplicate"
)

// Options configure a Subscriber. Zero values take the defaults.
type Options struct {
	Broker Broker
	// Topic is the subscription's filter (default crowdrisk/readings/#).
	Topic string
	// DeadLetterTopic receives every refused message with its error
	// (default crowdrisk/dead-letter). It must not match Topic.
	DeadLetterTopic string
	Engine          Ingester
	Logger          *slog.Logger
	Observer        Observer
	// MaxPayload bounds a message (default: the HTTP API's body limit).
	MaxPayload int
	// MaxBatch bounds the readings handed to the engine at once (default
	// and at most the API's MaxBatch).
	MaxBatch int
	// RetryMin and RetryMax bound the backoff between attempts, both of a
	// connection and of a batch the engine could not take (default
	// 100ms and 10s).
	RetryMin, RetryMax time.Duration
	// LogEvery is how often one sensor's refused messages are logged
	// (default a minute; the rest are counted and dead-lettered only).
	LogEvery time.Duration
	// MaxQueued and MaxQueuedBytes bound the messages taken from the
	// broker and not yet handed to the engine (default 50,000 and 64 MiB;
	// see queue.go).
	MaxQueued, MaxQueuedBytes int
}

// Defaults.
const (
	DefaultTopic           = "crowdrisk/readings/#"
	DefaultDeadLetterTopic = "crowdrisk/dead-letter"
)

// Subscriber takes readings from the broker to the engine.
type Subscriber struct {
	opts   Options
	log    *slog.Logger
	obs    Observer
	addr   brokerAddr
	client paho.Client
	zones  map[string]bool

	// gen numbers the connections. A message is tagged with the one it came
	// on; once that connection is gone the broker sends the message again
	// on the next (it was not acknowledged), so the old copy is dropped
	// unprocessed, and an acknowledgement for it is not sent.
	gen    atomic.Uint64
	queue  queue
	lost   chan error
	status atomic.Pointer[string]
	// connectedOnce is the connect loop's own: a later session up is a
	// reconnection.
	connectedOnce bool
}

// New checks the options and builds the client; nothing connects before
// Run.
func New(opts Options) (*Subscriber, error) {
	if opts.Topic == "" {
		opts.Topic = DefaultTopic
	}
	if opts.DeadLetterTopic == "" {
		opts.DeadLetterTopic = DefaultDeadLetterTopic
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = api.DefaultMaxBodyBytes
	}
	if opts.MaxBatch <= 0 || opts.MaxBatch > api.MaxBatch {
		opts.MaxBatch = api.MaxBatch
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 100 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(10*time.Second, opts.RetryMin)
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 50_000
	}
	if opts.MaxQueuedBytes <= 0 {
		opts.MaxQueuedBytes = 64 << 20
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = time.Minute
	}
	if opts.Broker.ClientID == "" {
		return nil, errors.New("--mqtt-client-id is required (the broker keeps the session under it)")
	}
	if err := CheckTopics(opts.Topic, opts.DeadLetterTopic); err != nil {
		return nil, err
	}
	addr, err := opts.Broker.parse()
	if err != nil {
		return nil, err
	}
	s := &Subscriber{opts: opts, log: opts.Logger.With("category", "mqtt"), obs: opts.Observer,
		addr: addr, zones: map[string]bool{}, lost: make(chan error, 1)}
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	for _, z := range opts.Engine.Venue().Zones {
		s.zones[z.ID] = true
	}
	s.queue.init(opts.MaxQueued, opts.MaxQueuedBytes)
	s.setStatus("connecting")
	o := addr.clientOptions(opts.Broker.ClientID).
		SetCleanSession(false). // the persistent session
		SetAutoAckDisabled(true).
		SetStore(nullStore{}). // the broker's session keeps what matters
		// In order, in Paho's reading goroutine: onMessage only queues.
		SetOrderMatters(true).
		// Every message, whatever subscription it came by: a persistent
		// session delivers what it queued before we subscribe again.
		SetDefaultPublishHandler(s.onMessage).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case s.lost <- err:
			default:
			}
		})
	s.client = paho.NewClient(o)
	return s, nil
}

// CheckTopics refuses a subscription that would take in its own dead
// letters (an endless loop of refusals).
func CheckTopics(topic, deadLetter string) error {
	switch {
	case strings.ContainsAny(deadLetter, "+#"):
		return fmt.Errorf("--mqtt-dead-letter %q: a topic to publish to has no wildcards", deadLetter)
	case topicMatches(topic, deadLetter):
		return fmt.Errorf("--mqtt-dead-letter %q matches --mqtt-topic %q: the engine would read its own dead letters", deadLetter, topic)
	case topic == "" || strings.HasPrefix(topic, "$share/") && strings.Count(topic, "/") < 2:
		return fmt.Errorf("--mqtt-topic %q is not a topic filter", topic)
	}
	return nil
}

// Status is "connected", or "connecting: <why the last attempt failed>",
// for /readyz.
func (s *Subscriber) Status() string { return *s.status.Load() }

// Connected reports whether the session is up.
func (s *Subscriber) Connected() bool { return s.Status() == "connected" }

func (s *Subscriber) setStatus(st string) { s.status.Store(&st) }

// Run connects, keeps the session up and feeds the engine until ctx ends.
// Then it finishes the batch in hand (acknowledging what the engine took),
// and disconnects; what it had not acknowledged the broker keeps for the
// next start. A broker that cannot be reached, or refuses the credentials,
// does not stop the engine: it is retried with backoff, logged once per
// change of cause, and shown in /readyz.
func (s *Subscriber) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.ingestLoop(ctx) }()
	s.connectLoop(ctx)
	wg.Wait()
	// Nothing takes from the queue any more: a push waiting for room
	// returns (what it held stays unacknowledged, with the broker), and
	// Paho's router can stop.
	s.queue.close()
	s.client.Disconnect(500) // flushes the last acknowledgements
	s.obs.MQTTConnected(false)
	s.setStatus("connecting: stopped")
}

func (s *Subscriber) connectLoop(ctx context.Context) {
	backoff := s.opts.RetryMin
	lastErr := ""
	for ctx.Err() == nil {
		s.gen.Add(1)
		s.queue.clear()
		err := s.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			msg := err.Error()
			s.setStatus("connecting: " + msg)
			if msg != lastErr { // once per cause, not per attempt
				s.log.Error("mqtt: cannot connect; retrying", "broker", s.addr.host, "clientId", s.opts.Broker.ClientID, "err", msg)
				lastErr = msg
			}
			if !sleep(ctx, jitter(backoff)) {
				return
			}
			backoff = min(backoff*2, s.opts.RetryMax)
			continue
		}
		backoff, lastErr = s.opts.RetryMin, ""
		s.log.Info("mqtt: connected", "broker", s.addr.host, "clientId", s.opts.Broker.ClientID, "topic", s.opts.Topic)
		select {
		case <-ctx.Done():
			return
		case err := <-s.lost:
			s.gen.Add(1) // what the lost connection brought comes again
			s.queue.clear()
			s.obs.MQTTConnected(false)
			msg := "connection lost"
			if err != nil {
				msg += ": " + err.Error()
			}
			s.setStatus("connecting: " + msg)
			s.log.Warn("mqtt: connection lost; reconnecting", "broker", s.addr.host, "err", err)
		}
	}
}

// connect opens the session, then (again) subscribes: the broker normally
// still has the subscription, but not if it lost its state. The session is
// up, and says so, from the broker's CONNACK: a broker with a backlog sends
// it ahead of the SUBACK, which may then take a while.
func (s *Subscriber) connect(ctx context.Context) error {
	select { // a stale notice from the previous connection
	case <-s.lost:
	default:
	}
	if err := wait(ctx, s.client.Connect()); err != nil {
		return connectError(err)
	}
	s.up()
	tok := s.client.Subscribe(s.opts.Topic, 1, nil)
	// A subscription of a persistent session is kept for resumption when
	// the connection drops: its token may then never complete.
	var err error
	select {
	case <-tok.Done():
		err = tok.Error()
	case <-ctx.Done():
		err = ctx.Err()
	case lost := <-s.lost:
		err = fmt.Errorf("connection lost: %v", lost)
	}
	if err != nil {
		s.client.Disconnect(0)
		s.obs.MQTTConnected(false)
		return fmt.Errorf("subscribe %q: %w", s.opts.Topic, err)
	}
	if codes := tok.(*paho.SubscribeToken).Result(); codes[s.opts.Topic] > 2 {
		s.client.Disconnect(0)
		s.obs.MQTTConnected(false)
		return fmt.Errorf("the broker refused the subscription to %q (not authorized for it?)", s.opts.Topic)
	}
	return nil
}

// up marks the session up, in the status, the gauge and the count of
// reconnections at once, so that no reader sees "connected" in one and not
// in the others.
func (s *Subscriber) up() {
	if s.connectedOnce {
		s.obs.MQTTReconnect()
	}
	s.connectedOnce = true
	s.obs.MQTTConnected(true)
	s.setStatus("connected")
}

// connectError says in plain words what a refused CONNECT means.
func connectError(err error) error {
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return errors.New("the broker refused the user name or password (check the --mqtt URL and CROWDRISK_MQTT_PASSWORD)")
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return errors.New("the broker refused this client: not authorized (check the credentials and the broker's ACL)")
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return errors.New("the broker refused the client id (--mqtt-client-id)")
	}
	return err
}

// onMessage runs in Paho's reading goroutine, so it only queues: blocking
// there would also hold up the acknowledgements of our dead letters. The
// queue is bounded by the broker, which sends at most its
// max_inflight_messages before it has our acknowledgements.
func (s *Subscriber) onMessage(_ paho.Client, m paho.Message) {
	s.queue.push(inbound{msg: m, gen: s.gen.Load(), received: time.Now()})
}

// wait waits for a Paho token or ctx.
func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jitter spreads the retries of many instances (±25%).
func jitter(d time.Duration) time.Duration {
	return d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
}

type nopObserver struct{}

func (nopObserver) MQTTConnected(bool)       {}
func (nopObserver) MQTTMessages(string, int) {}
func (nopObserver) MQTTReadings(int)         {}
func (nopObserver) MQTTDeadLetters(int)      {}
func (nopObserver) MQTTReconnect()           {}
