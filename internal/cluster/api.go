package cluster

import (
	"context"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// The methods below are internal/api's Engine interface. On the leader
// they call the engine; on a follower writes go to the leader and reads
// come from the shared store and the followed events.

// engine returns the leader's engine, nil on a follower.
func (n *Node) engine() *engine.Engine {
	if l := n.leadership(); l != nil {
		return l.eng
	}
	return nil
}

// Venue is the venue every instance watches.
func (n *Node) Venue() crowd.Venue { return n.opts.Venue }

// Ingest applies readings on the leader, or queues them for it.
func (n *Node) Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error) {
	if e := n.engine(); e != nil {
		return e.Ingest(ctx, in)
	}
	// A reading without a time is "now" where it was received: the leader
	// stamps it with this instance's time (not when it gets to it: after a
	// takeover that is minutes later and all at one instant), and never
	// refuses it as out of order, as it would a reading that carried that
	// time itself (a leader's own readings of the zone may be a moment
	// newer than this forwarded one).
	var out reply
	err := n.forward(ctx, opIngest, request{Readings: in, ReceivedAt: n.now().UnixMilli()}, &out)
	return out.Readings, err
}

// Latest is the newest judged reading of every zone.
func (n *Node) Latest() []crowd.DensityReading {
	if e := n.engine(); e != nil {
		return e.Latest()
	}
	return n.view.Latest()
}

// History is a zone's recent readings.
func (n *Node) History(zoneID string, window time.Duration) ([]crowd.DensityReading, error) {
	if e := n.engine(); e != nil {
		return e.History(zoneID, window)
	}
	return n.view.History(zoneID, window)
}

// Alerts come from the shared store on every instance.
func (n *Node) Alerts(ctx context.Context, f store.AlertFilter) ([]crowd.Alert, error) {
	return n.opts.Store.Alerts(ctx, f)
}

// Incidents come from the shared store on every instance.
func (n *Node) Incidents(ctx context.Context, f store.IncidentFilter) ([]crowd.Incident, error) {
	return n.opts.Store.Incidents(ctx, f)
}

// Emergency is the current emergency mode.
func (n *Node) Emergency() *crowd.EmergencyMode {
	if e := n.engine(); e != nil {
		return e.Emergency()
	}
	return n.view.Emergency()
}

// Acknowledge records an operator's acknowledgement.
func (n *Node) Acknowledge(ctx context.Context, id, actor string) (crowd.Alert, error) {
	if e := n.engine(); e != nil {
		return e.Acknowledge(ctx, id, actor)
	}
	var out reply
	if err := n.forward(ctx, opAcknowledge, request{ID: id, Actor: actor}, &out); err != nil {
		return crowd.Alert{}, err
	}
	return deref(out.Alert), nil
}

// ActivateEmergency switches emergency mode on.
func (n *Node) ActivateEmergency(ctx context.Context, reason string, zoneIDs []string, actor string) (*crowd.EmergencyMode, error) {
	if e := n.engine(); e != nil {
		return e.ActivateEmergency(ctx, reason, zoneIDs, actor)
	}
	var out reply
	err := n.forward(ctx, opEmergencyOn, request{Reason: reason, ZoneIDs: zoneIDs, Actor: actor}, &out)
	return out.Emergency, err
}

// EndEmergency switches emergency mode off.
func (n *Node) EndEmergency(ctx context.Context, actor string) error {
	if e := n.engine(); e != nil {
		return e.EndEmergency(ctx, actor)
	}
	return n.forward(ctx, opEmergencyOff, request{Actor: actor}, &reply{})
}

// TriggerViolation is a testing control.
func (n *Node) TriggerViolation(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error) {
	if e := n.engine(); e != nil {
		return e.TriggerViolation(ctx, zoneID, level, actor)
	}
	var out reply
	err := n.forward(ctx, opViolation, request{ZoneID: zoneID, Level: level, Actor: actor}, &out)
	return out.Readings, out.Alerts, err
}

// TriggerBreach is a testing control.
func (n *Node) TriggerBreach(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error) {
	if e := n.engine(); e != nil {
		return e.TriggerBreach(ctx, zoneID, level, actor)
	}
	var out reply
	err := n.forward(ctx, opBreach, request{ZoneID: zoneID, Level: level, Actor: actor}, &out)
	return out.Readings, out.Alerts, err
}

// TestAlert is a testing control.
func (n *Node) TestAlert(ctx context.Context, zoneID string, level crowd.Level, message, actor string) (crowd.Alert, error) {
	if e := n.engine(); e != nil {
		return e.TestAlert(ctx, zoneID, level, message, actor)
	}
	var out reply
	if err := n.forward(ctx, opTestAlert, request{ZoneID: zoneID, Level: level, Message: message, Actor: actor}, &out); err != nil {
		return crowd.Alert{}, err
	}
	return deref(out.Alert), nil
}

func deref(a *crowd.Alert) crowd.Alert {
	if a == nil {
		return crowd.Alert{}
	}
	return *a
}
