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
	if len(reason) > 500 {
		return nil, crowd.Invalidf("reason", "must be at most 500 characters")
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
		if reason == "" {
			reason = "activated by " + actor
		}
		m = &crowd.EmergencyMode{Active: true, Reason: reason, ZoneIDs: []string{}, ActivatedAt: now.UnixMilli(), ActivatedBy: actor}
	} else if reason != "" {
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
	e.setEmergencyLocked(s, nil, actor, e.now(), "emergency mode ended by "+actor)
	return e.apply(ctx, s)
}

// escalateEmergencyLocked activates emergency mode when a zone reaches its
// emergency level, or adds the zone to an active one.
func (e *Engine) escalateEmergencyLocked(s *step, zoneID string, at time.Time) {
	m := cloneEmergency(e.emergency)
	name := e.zones[zoneID].Name
	switch {
	case m == nil:
		m = &crowd.EmergencyMode{Active: true, ZoneIDs: []string{zoneID}, ActivatedAt: at.UnixMilli(), ActivatedBy: "engine",
			Reason: fmt.Sprintf("zone %s reached its emergency level", name)}
	case !slices.Contains(m.ZoneIDs, zoneID):
		m.ZoneIDs = append(m.ZoneIDs, zoneID)
	default:
		return
	}
	e.setEmergencyLocked(s, m, "engine", at, fmt.Sprintf("emergency mode: zone %s at its emergency level", name))
}

func (e *Engine) setEmergencyLocked(s *step, m *crowd.EmergencyMode, actor string, at time.Time, msg string) {
	e.emergency = m
	s.emergency(m)
	s.incidents(crowd.Incident{Timestamp: at.UnixMilli(), Kind: crowd.IncidentEmergency, Actor: actor, Message: msg})
}
