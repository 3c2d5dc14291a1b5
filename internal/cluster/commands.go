package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/redisbus"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Operations a follower forwards to the leader.
const (
	opIngest         = "ingest"
	opAcknowledge    = "acknowledge"
	opEmergencyOn    = "emergency-on"
	opEmergencyOff   = "emergency-off"
	opViolation      = "violation"
	opBreach         = "breach"
	opTestAlert      = "test-alert"
	replyExpired     = "the request waited too long for an evaluating instance"
	replyUnavailable = "no evaluating instance answered in time; nothing was changed: try again"
	replyUnknown     = "the evaluating instance took the request but did not answer in time: it may have been carried out; check before repeating it"
)

// request carries the arguments of every operation (unused ones empty).
type request struct {
	Readings []crowd.ReadingInput `json:"readings,omitempty"`
	// ReceivedAt (ms) is when the follower got the readings: those without
	// a timestamp are "now" there, and are never refused as out of order.
	ReceivedAt int64       `json:"receivedAt,omitempty"`
	ID         string      `json:"id,omitempty"`
	ZoneID     string      `json:"zoneId,omitempty"`
	ZoneIDs    []string    `json:"zoneIds,omitempty"`
	Level      crowd.Level `json:"level,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	Message    string      `json:"message,omitempty"`
	Actor      string      `json:"actor,omitempty"`
}

// reply is the leader's answer. Last is the leader's newest event id after
// the operation: the follower waits until it has followed that far, so a
// client that reads right after a write sees it.
type reply struct {
	Readings  []crowd.DensityReading `json:"readings,omitempty"`
	Alerts    []crowd.Alert          `json:"alerts,omitempty"`
	Alert     *crowd.Alert           `json:"alert,omitempty"`
	Emergency *crowd.EmergencyMode   `json:"emergency,omitempty"`
	Error     *crowd.Error           `json:"error,omitempty"`
	Last      event.ID               `json:"last"`
}

// execute runs one forwarded command on the leader's engine.
func (n *Node) execute(ctx context.Context, l *leadership, c redisbus.Command) []byte {
	var out reply
	var req request
	var err error
	// The order matters. A command a previous leader carried out (its key is
	// committed with its effects) is answered as done, however late. One
	// that did not take effect runs unless it expired or its submitter
	// withdrew it: a previous leader that claimed it cannot commit it any
	// more (this leader raised the fence on taking over), so it is this
	// leader's to run.
	var done bool
	if c.Op != opIngest {
		done, err = n.opts.Store.CommandDone(ctx, c.ID)
	}
	switch {
	case err != nil:
	case json.Unmarshal(c.Body, &req) != nil:
		err = crowd.Errorf(crowd.ErrInvalid, "malformed forwarded command %q", c.Op)
	case done:
		err = n.replayed(ctx, c.Op, req, &out)
	case !c.Deadline.IsZero() && n.now().After(c.Deadline):
		err = crowd.Errorf(crowd.ErrUnavailable, replyExpired)
	case !n.claim(ctx, c):
		err = crowd.Errorf(crowd.ErrUnavailable, replyExpired)
	case c.Op != opIngest:
		err = apply(engine.WithCommand(ctx, c.ID), l, c.Op, req, &out)
	default:
		err = apply(ctx, l, c.Op, req, &out)
	}
	if err != nil {
		var ce *crowd.Error
		var down *store.UnavailableError
		switch {
		case errors.As(err, &ce):
		case errors.As(err, &down):
			ce = crowd.Errorf(crowd.ErrUnavailable, "the store is unavailable (down or restarting); try again shortly")
		default:
			ce = crowd.Errorf(crowd.ErrInternal, "%s", err.Error())
		}
		out.Error = ce
	}
	out.Last = l.seq.Last()
	b, _ := json.Marshal(out)
	return b
}

func apply(ctx context.Context, l *leadership, op string, r request, out *reply) error {
	e := l.eng
	var err error
	switch op {
	case opIngest:
		var stamp time.Time
		if r.ReceivedAt > 0 {
			stamp = time.UnixMilli(r.ReceivedAt)
		}
		out.Readings, err = e.IngestStamped(ctx, r.Readings, stamp)
	case opAcknowledge:
		var a crowd.Alert
		a, err = e.Acknowledge(ctx, r.ID, r.Actor)
		out.Alert = &a
	case opEmergencyOn:
		out.Emergency, err = e.ActivateEmergency(ctx, r.Reason, r.ZoneIDs, r.Actor)
	case opEmergencyOff:
		err = e.EndEmergency(ctx, r.Actor)
	case opViolation:
		out.Readings, out.Alerts, err = e.TriggerViolation(ctx, r.ZoneID, r.Level, r.Actor)
	case opBreach:
		out.Readings, out.Alerts, err = e.TriggerBreach(ctx, r.ZoneID, r.Level, r.Actor)
	case opTestAlert:
		var a crowd.Alert
		a, err = e.TestAlert(ctx, r.ZoneID, r.Level, r.Message, r.Actor)
		out.Alert = &a
	default:
		err = crowd.Errorf(crowd.ErrInvalid, "unknown forwarded operation %q", op)
	}
	return err
}

// claim takes the command before running it; false when its submitter
// withdrew it after waiting in vain (it answered 503: the command must not
// run), or when Redis cannot say (then it is not run either: the submitter
// answers "outcome unknown" at worst, never a false 503).
func (n *Node) claim(ctx context.Context, c redisbus.Command) bool {
	ok, err := n.queue.Claim(ctx, c)
	if err != nil {
		n.log.Warn("could not claim a forwarded command; not running it", "op", c.Op, "err", err)
		return false
	}
	return ok
}

// replayed answers a command that a previous leader carried out (its
// effects are committed) but never answered: with the state it left where
// the operation has one, or a conflict that says so.
func (n *Node) replayed(ctx context.Context, op string, r request, out *reply) error {
	n.log.Warn("a forwarded command was already carried out by the previous leader; not running it again", "op", op)
	switch op {
	case opAcknowledge:
		a, err := n.opts.Store.Alert(ctx, r.ID)
		if err != nil {
			return err
		}
		out.Alert = &a
		return nil
	case opEmergencyOn:
		m, err := n.opts.Store.Emergency(ctx)
		out.Emergency = m
		return err
	case opEmergencyOff:
		return nil
	}
	return crowd.Errorf(crowd.ErrConflict, "this %s was already carried out by the previous evaluating instance, which stopped before answering; it was not repeated", op)
}

// forward sends a write to the leader and waits for its reply. Readings
// carry no deadline: if the leader dies before it answers they stay queued
// for the next one (the client got a 503 and may send them again, which the
// engine accepts). Operator actions expire with the wait and are withdrawn
// unless the leader has claimed them (redisbus.Queue.Claim), so a click that
// was answered 503 never fires later; one the leader claimed but did not
// answer in time gets a 504 (outcome unknown).
func (n *Node) forward(ctx context.Context, op string, req request, out *reply) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	deadline := n.now().Add(n.opts.ForwardTimeout)
	if op == opIngest {
		deadline = time.Time{}
	}
	b, err := n.queue.Submit(ctx, op, body, deadline, n.opts.ForwardTimeout)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, redisbus.ErrNoReply) && !errors.Is(err, redisbus.ErrOutcomeUnknown) {
			n.setRedisErr(err)
		}
		n.log.Warn("forwarding to the leader failed", "op", op, "err", err)
		if errors.Is(err, redisbus.ErrOutcomeUnknown) {
			return crowd.Errorf(crowd.ErrTimeout, replyUnknown)
		}
		return crowd.Errorf(crowd.ErrUnavailable, replyUnavailable)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return crowd.Errorf(crowd.ErrInternal, "malformed reply from the leader")
	}
	if out.Error != nil {
		return out.Error
	}
	n.view.waitFor(ctx, out.Last, n.opts.ForwardTimeout)
	return nil
}
