package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Acknowledge records that actor acknowledged an alert.
func (e *Engine) Acknowledge(ctx context.Context, id, actor string) (crowd.Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, incidents, err := e.monitor.Acknowledge(id, actor, e.now())
	if crowd.ErrorCode(err) == crowd.ErrNotFound {
		// The monitor knows only open alerts and recently resolved ones; an
		// alert resolved long ago (or before a restart) is in the store.
		if stored, serr := e.store.Alert(ctx, id); serr == nil && stored.Status == crowd.StatusResolved {
			err = crowd.Errorf(crowd.ErrConflict, "alert %s is already resolved", id)
		}
	}
	if err != nil {
		return crowd.Alert{}, crowd.PrefixField(err, "id")
	}
	if len(incidents) == 0 {
		return a, nil // already acknowledged: nothing changed
	}
	// The monitor's copy already says whether acknowledging also resolved
	// the alert (a manual one, or a critical one whose zone is back down).
	s := e.newStep()
	s.alert(a)
	s.incidents(incidents...)
	return a, e.apply(ctx, s)
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
	s := e.newStep()
	e.setEmergencyLocked(s, m, actor, now, "emergency mode activated by "+actor+": "+m.Reason)
	return cloneEmergency(m), e.apply(ctx, s)
}

// EndEmergency switches emergency mode off. Ending it when it is off
// changes nothing.
func (e *Engine) EndEmergency(ctx context.Context, actor string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.emergency == nil {
		return nil
	}
	s := e.newStep()
	now := e.now()
	ended := &endedEmergency{at: now, by: actor, zones: map[string]bool{}}
	for _, id := range e.emergency.ZoneIDs {
		ended.zones[id] = true
	}
	e.setEmergencyLocked(s, nil, actor, now, "emergency mode ended by "+actor)
	e.ended = ended
	return e.apply(ctx, s)
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
