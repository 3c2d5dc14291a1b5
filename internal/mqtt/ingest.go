package mqtt

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crowdrisk/crowdrisk/internal/api"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// message is a decoded inbound message and its fate.
type message struct {
	inbound
	readings []crowd.ReadingInput
	err      error // why it is refused (dead-lettered); nil: good so far
	// named is the reading whose sensor the log's rate limit counts a
	// refusal against (-1: none, the topic then). An index, not the key:
	// the key is a string built per message, and only refusals need it.
	named    int
	accepted bool
}

// source is whom the log's rate limit is per: the sensor, else the topic.
func (m *message) source() string {
	if m.named >= 0 && m.named < len(m.readings) {
		return sensorKey(m.readings[m.named])
	}
	return "topic:" + m.msg.Topic()
}

// ingestLoop hands the engine what arrived while it was busy with the
// previous batch: no timer, so one message alone goes at once, and under
// load the batches grow by themselves (up to MaxBatch readings).
func (s *Subscriber) ingestLoop(ctx context.Context) {
	limiter := newLogLimiter(s.opts.LogEvery)
	for {
		select {
		case <-s.queue.ready:
		case <-ctx.Done():
			return
		}
		items := s.queue.takeAll()
		// One allocation for the messages of this take, not one each.
		msgs := make([]message, len(items))
		chunk := make([]*message, 0, len(items))
		n := 0
		for i, in := range items {
			if in.gen != s.gen.Load() {
				continue // the broker sends it again on the new connection
			}
			m := &msgs[i]
			s.decode(m, in)
			if m.err == nil && n > 0 && n+len(m.readings) > s.opts.MaxBatch {
				if ctx.Err() != nil || !s.process(ctx, chunk, limiter) {
					// Stopping: the rest stays with the broker.
					return
				}
				chunk, n = chunk[len(chunk):], 0
			}
			chunk = append(chunk, m)
			if m.err == nil {
				n += len(m.readings)
			}
		}
		if len(chunk) > 0 && (ctx.Err() != nil || !s.process(ctx, chunk, limiter)) {
			return
		}
		s.queue.recycle(items)
	}
}

// decode applies the HTTP API's decoder and the checks that need no engine
// state, so that one message's bad reading does not refuse the batch it
// would share with others.
func (s *Subscriber) decode(m *message, in inbound) {
	*m = message{inbound: in, named: -1}
	payload := in.msg.Payload()
	switch {
	case len(payload) > s.opts.MaxPayload:
		m.err = &crowd.Error{Code: crowd.ErrTooLarge, Field: "readings",
			Message: fmt.Sprintf("the message has %d bytes; at most %d", len(payload), s.opts.MaxPayload)}
		return
	case in.msg.Retained():
		// A retained message is an old one the broker replays to every new
		// subscription (to us at every reconnection): judged again, a
		// reading without a timestamp would show a stale crowd as now.
		m.err = crowd.Invalidf("retain", "a retained message is not a reading; publish readings without the retain flag (and clear this one with an empty retained message)")
		return
	}
	m.readings, m.err = api.DecodeReadingBytes(payload)
	if m.err != nil {
		return
	}
	m.named = 0
	for i, r := range m.readings {
		err := r.Check()
		if err == nil && !s.zones[r.ZoneID] {
			err = crowd.Invalidf("zoneId", "unknown zone %q", r.ZoneID)
		}
		if err != nil {
			m.err, m.named = crowd.PrefixField(err, fmt.Sprintf("readings[%d]", i)), i
			return
		}
	}
}

func sensorKey(r crowd.ReadingInput) string {
	if r.SensorID != "" {
		return "sensor:" + r.ZoneID + "/" + r.SensorID
	}
	return "zone:" + r.ZoneID
}

// deadLetterTimeout bounds the wait for the broker to have a chunk's dead
// letters.
const deadLetterTimeout = 10 * time.Second

// process ingests a chunk's good messages as one batch, dead-letters the
// bad ones and acknowledges, in arrival order, every message whose fate is
// settled. It returns false when ctx ended while the engine could not take
// the batch: nothing of it is acknowledged, the broker keeps it.
func (s *Subscriber) process(ctx context.Context, chunk []*message, limiter *logLimiter) bool {
	started := time.Now()
	if !s.ingest(ctx, chunk) {
		return false
	}
	s.log.Debug("mqtt: batch", "messages", len(chunk), "took", time.Since(started))
	gen := s.gen.Load()
	var dead []*message
	var tokens []paho.Token
	for _, m := range chunk {
		if m.err != nil && m.gen == gen && !redelivered(m) {
			dead = append(dead, m)
			tokens = append(tokens, s.client.Publish(s.opts.DeadLetterTopic, 1, false, deadLetter(m)))
			if ok, suppressed := limiter.allow(m.source(), time.Now()); ok {
				s.log.Warn("mqtt: message refused; sent to the dead-letter topic", "topic", m.msg.Topic(),
					"source", m.source(), "err", m.err, "deadLetter", s.opts.DeadLetterTopic, "suppressed", suppressed)
			}
		}
	}
	// A refused message is acknowledged only once its dead letter is with
	// the broker: otherwise it stays there, to come again after a
	// reconnection.
	// One deadline for them all: after a lost connection none completes.
	var failed map[*message]bool // rare: made when a dead letter fails
	deadline := time.Now().Add(deadLetterTimeout)
	for i, tok := range tokens {
		if !tok.WaitTimeout(max(time.Until(deadline), 0)) || tok.Error() != nil {
			if failed == nil {
				failed = map[*message]bool{}
			}
			failed[dead[i]] = true
		}
	}
	if len(failed) > 0 {
		s.log.Warn("mqtt: dead letters not published; their messages stay unacknowledged", "count", len(failed))
	}
	var accepted, readings, invalid, duplicates int
	for _, m := range chunk {
		if m.gen != s.gen.Load() || failed[m] {
			continue
		}
		switch {
		case m.accepted:
			accepted++
			readings += len(m.readings)
		case redelivered(m):
			duplicates++
		case m.err != nil:
			invalid++
		default:
			continue
		}
		m.msg.Ack()
	}
	s.obs.MQTTMessages(ResultAccepted, accepted)
	s.obs.MQTTReadings(readings)
	s.obs.MQTTMessages(ResultInvalid, invalid)
	s.obs.MQTTMessages(ResultDuplicate, duplicates)
	s.obs.MQTTDeadLetters(len(dead) - len(failed))
	return true
}

// redelivered reports a message that is one door report the engine counted
// already (409 conflict on its timestamp): the broker's redelivery of a
// message taken just before a connection dropped, not a fault to
// dead-letter. A message of several readings with such a report is
// dead-lettered as before: it may carry new readings beside an old report,
// and those must not vanish quietly.
func redelivered(m *message) bool {
	var ce *crowd.Error
	return m.err != nil && len(m.readings) == 1 && m.readings[0].SensorID != "" &&
		errors.As(m.err, &ce) && ce.Code == crowd.ErrConflict
}

// ingest hands the chunk's good messages to the engine as one batch. A
// reading the engine refuses (out of order, from the future, ...) refuses
// only its own message: the rest go again without it. While the engine
// cannot take anything now (store unavailable, no leader, timeout) the
// batch is retried with backoff; it returns false if ctx ends meanwhile.
// The batch in hand is finished even when ctx ends (the engine's own
// commit does not depend on it either): stopping ingest must not leave a
// batch taken but unacknowledged when it could be acknowledged.
func (s *Subscriber) ingest(ctx context.Context, chunk []*message) bool {
	var good []*message
	for _, m := range chunk {
		if m.err == nil {
			good = append(good, m)
		}
	}
	backoff, retrying := s.opts.RetryMin, false
	for len(good) > 0 {
		var batch []crowd.ReadingInput
		starts := make([]int, len(good))
		for i, m := range good {
			starts[i] = len(batch)
			batch = append(batch, m.readings...)
		}
		_, err := s.opts.Engine.Ingest(context.WithoutCancel(ctx), batch)
		switch {
		case err == nil:
			for _, m := range good {
				m.accepted = true
			}
			if retrying {
				s.log.Info("mqtt: the engine takes readings again")
			}
			return true
		case transient(err):
			if !retrying {
				s.log.Warn("mqtt: the engine cannot take readings now; retrying, unacknowledged", "err", err, "messages", len(good))
				retrying = true
			}
			s.obs.MQTTMessages(ResultRetried, len(good))
			if !sleep(ctx, jitter(backoff)) || s.gen.Load() != good[0].gen {
				// Stopping, or the connection is gone and the broker
				// sends these again: either way not acknowledged.
				return ctx.Err() == nil
			}
			backoff = min(backoff*2, s.opts.RetryMax)
			continue
		}
		i, rest, ok := batchIndex(err)
		if !ok || i >= len(batch) {
			if len(good) == 1 {
				good[0].err = crowd.PrefixField(err, "readings")
				return true
			}
			// Which message? Each on its own then.
			for _, m := range good {
				if !s.ingest(ctx, []*message{m}) {
					return false
				}
			}
			return true
		}
		j := len(starts) - 1
		for starts[j] > i {
			j--
		}
		good[j].err, good[j].named = reprefix(err, i-starts[j], rest), i-starts[j]
		good = append(good[:j:j], good[j+1:]...)
	}
	return true
}

// transient reports an engine that could not take readings now, as
// opposed to readings it refused: anything but a *crowd.Error (a store
// that cannot be reached, a cancelled forward), or its codes for "try
// again".
func transient(err error) bool {
	var ce *crowd.Error
	if !errors.As(err, &ce) {
		return true
	}
	switch ce.Code {
	case crowd.ErrUnavailable, crowd.ErrTimeout, crowd.ErrRateLimited:
		return true
	}
	return false
}

// batchIndex reads the reading's index from a refusal's field ("[3].density").
func batchIndex(err error) (int, string, bool) {
	var ce *crowd.Error
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "[") {
		return 0, "", false
	}
	end := strings.IndexByte(ce.Field, ']')
	if end < 0 {
		return 0, "", false
	}
	i, perr := strconv.Atoi(ce.Field[1:end])
	if perr != nil || i < 0 {
		return 0, "", false
	}
	return i, ce.Field[end+1:], true
}

// reprefix names the reading within its own message ("readings[0].density").
func reprefix(err error, i int, rest string) error {
	var ce *crowd.Error
	errors.As(err, &ce)
	c := *ce
	c.Field = fmt.Sprintf("readings[%d]%s", i, rest)
	return &c
}
