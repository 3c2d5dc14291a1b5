package engine

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Acknowledge records that actor acknowledged an alert. The acknowledgement
// is committed before the monitor learns of it (the monitor cannot undo
// one): a 503 leaves the alert active everywhere. Whatever the monitor then
// adds (acknowledging a manual alert, or a critical one whose zone is back
// down, also resolves it) follows as an engine change of its own.
func (e *Engine) Acknowledge(ctx context.Context, id, actor string) (crowd.Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	prev, open := e.openAlertLocked(id)
	if !open {
		// Not open: the monitor says why (it changes nothing then).
		_, _, err := e.monitor.Acknowledge(id, actor, now)
		if crowd.ErrorCode(err) == crowd.ErrNotFound {
			// The monitor knows only open alerts and recently resolved ones; an
			// alert resolved long ago (or before a restart) is in the store.
			if stored, serr := e.store.Alert(ctx, id); serr == nil && stored.Status == crowd.StatusResolved {
				err = crowd.Errorf(crowd.ErrConflict, "alert %s is already resolved", id)
			}
		}
		if err == nil {
			err = crowd.Errorf(crowd.ErrNotFound, "no open alert %s", id)
		}
		return crowd.Alert{}, crowd.PrefixField(err, "id")
	}
	if prev.Status == crowd.StatusAcknowledged {
		return prev, nil // already acknowledged: nothing changed
	}
	acked, predicted := predictAck(prev, actor, now.UnixMilli())
	s := e.newStep()
	s.alert(acked)
	s.incidents(predicted...)
	if err := e.command(ctx, s, nil); err != nil {
		return crowd.Alert{}, err
	}
	a, incidents, err := e.monitor.Acknowledge(id, actor, now)
	if err != nil {
		// Impossible under e.mu (the alert was open a moment ago); the
		// acknowledgement is stored, so say so.
		e.log.Error("monitor refused an acknowledgement the store took", "alert", id, "err", err)
		return acked, nil
	}
	// Whatever the monitor did beyond the prediction (a critical alert whose
	// zone is back down also resolves) is an engine change of its own.
	rest := slices.DeleteFunc(incidents, func(in crowd.Incident) bool {
		return slices.ContainsFunc(predicted, func(p crowd.Incident) bool { return p.Kind == in.Kind && p.AlertID == in.AlertID })
	})
	if !reflect.DeepEqual(a, acked) || len(rest) > 0 {
		f := e.newStep()
		if !reflect.DeepEqual(a, acked) {
			f.alert(a)
		}
		f.incidents(rest...)
		if err := e.apply(ctx, f); err != nil {
			return crowd.Alert{}, err
		}
	}
	return a, nil
}

// predictAck is what acknowledging prev does, as far as the engine can tell
// without the monitor (which cannot take an acknowledgement back, so it
// only hears of one once it is committed): the alert acknowledged, and a
// test alert (always raised by hand) also resolved. It mirrors
// crowd.Monitor.Acknowledge; a difference is committed after it anyway.
func predictAck(prev crowd.Alert, actor string, t int64) (crowd.Alert, []crowd.Incident) {
	a := prev
	a.Status, a.AcknowledgedBy, a.AcknowledgedAt, a.UpdatedAt = crowd.StatusAcknowledged, actor, t, t
	level := a.Level
	incidents := []crowd.Incident{{Timestamp: t, Kind: crowd.IncidentAcknowledge, ZoneID: a.ZoneID, AlertID: a.ID, Level: &level,
		Actor: actor, Message: fmt.Sprintf("%s alert acknowledged by %s", a.Kind, actor)}}
	if a.Kind == crowd.KindTest {
		a.Status, a.ResolvedAt, a.Muted, a.MutedReason = crowd.StatusResolved, t, false, ""
		incidents = append(incidents, crowd.Incident{Timestamp: t, Kind: crowd.IncidentResolve, ZoneID: a.ZoneID, AlertID: a.ID,
			Level: &level, Actor: actor, Message: fmt.Sprintf("%s alert resolved: acknowledged", a.Kind)})
	}
	return a, incidents
}

// openAlertLocked returns a copy of an open alert.
func (e *Engine) openAlertLocked(id string) (crowd.Alert, bool) {
	for _, a := range e.monitor.OpenAlerts() {
		if a.ID == id {
			return a, true
		}
	}
	return crowd.Alert{}, false
}

// ActivateEmergency switches emergency mode on (or, when it is on, adds
// zones to it: pressing the button twice is not an error).
func (e *Engine) ActivateEmergency(ctx context.Context, reason string, zoneIDs []string, actor string) (*crowd.EmergencyMode, error) {
	reason = strings.TrimSpace(reason)
	if err := crowd.CheckReason(reason); err != nil {
		return nil, err
	}
	for i, id := range zoneIDs {
		if _, ok := e.zones[id]; !ok {
			return nil, crowd.Invalidf(fmt.Sprintf("zoneIds[%d]", i), "unknown zone %q", id)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	m := cloneEmergency(e.emergency)
	if m == nil {
		m = &crowd.EmergencyMode{Active: true, Reason: reason, ZoneIDs: []string{}, ActivatedAt: now.UnixMilli(), ActivatedBy: actor}
	} else {
		m.Reason = reason
	}
	for _, id := range zoneIDs {
		if !slices.Contains(m.ZoneIDs, id) {
			m.ZoneIDs = append(m.ZoneIDs, id)
		}
	}
	if e.emergency != nil && m.Reason == e.emergency.Reason && len(m.ZoneIDs) == len(e.emergency.ZoneIDs) {
		return m, nil // pressed again with nothing new: no event, no log line
	}
	s, prev := e.newStep(), e.emergency
	e.setEmergencyLocked(s, m, actor, now, "emergency mode activated by "+actor+": "+m.Reason)
	if err := e.command(ctx, s, func() { e.emergency = prev }); err != nil {
		return nil, err
	}
	return cloneEmergency(m), nil
}

// EndEmergency switches emergency mode off. Ending it when it is off
// changes nothing.
func (e *Engine) EndEmergency(ctx context.Context, actor string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.emergency == nil {
		return nil
	}
	s, prev := e.newStep(), e.emergency
	now := e.now()
	ended := &endedEmergency{at: now, by: actor, zones: map[string]bool{}}
	for _, id := range prev.ZoneIDs {
		ended.zones[id] = true
	}
	e.setEmergencyLocked(s, nil, actor, now, "emergency mode ended by "+actor)
	if err := e.command(ctx, s, func() { e.emergency = prev }); err != nil {
		return err
	}
	e.ended = ended
	return nil
}

// endedEmergency is the operator's decision to end emergency mode, kept so
// that the incident log can say why the engine switched it on again.
type endedEmergency struct {
	at    time.Time
	by    string
	zones map[string]bool
}

// escalateEmergencyLocked activates emergency mode for a new emergency in a
// zone (crowd.Outcome.Emergency: its emergency alert passed its dwell, coming
// from below), or adds the zone to an active one. A zone that merely stays in
// emergency never calls this, so an operator's decision to end the mode
// holds until a fresh dwell; the incident log says why it came back.
func (e *Engine) escalateEmergencyLocked(s *step, zoneID string, at time.Time) {
	m := cloneEmergency(e.emergency)
	name := e.zones[zoneID].Name
	msg := fmt.Sprintf("emergency mode: zone %s passed its emergency dwell", name)
	switch {
	case m == nil:
		reason := fmt.Sprintf("zone %s reached its emergency level", name)
		msg = "emergency mode activated by the engine: " + reason + " (its emergency alert passed its dwell)"
		if ended := e.ended; ended != nil {
			when := ended.at.UTC().Format("15:04:05Z")
			if ended.zones[zoneID] {
				msg = fmt.Sprintf("emergency mode activated again by the engine: zone %s fell below its emergency level after %s ended emergency mode at %s, and has now passed its emergency dwell again", name, ended.by, when)
			} else {
				msg = fmt.Sprintf("emergency mode activated again by the engine: zone %s, which was not in the emergency %s ended at %s, reached its emergency level and passed its dwell", name, ended.by, when)
			}
		}
		m = &crowd.EmergencyMode{Active: true, ZoneIDs: []string{zoneID}, ActivatedAt: at.UnixMilli(), ActivatedBy: "engine", Reason: reason}
	case !slices.Contains(m.ZoneIDs, zoneID):
		m.ZoneIDs = append(m.ZoneIDs, zoneID)
	default:
		return
	}
	e.setEmergencyLocked(s, m, "engine", at, msg)
}

func (e *Engine) setEmergencyLocked(s *step, m *crowd.EmergencyMode, actor string, at time.Time, msg string) {
	e.emergency = m
	s.emergency(m)
	s.incidents(crowd.Incident{Timestamp: at.UnixMilli(), Kind: crowd.IncidentEmergency, Actor: actor, Message: msg})
}
