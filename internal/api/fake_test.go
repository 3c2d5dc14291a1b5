package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// fakeEngine is a small in-memory engine with the real one's validation
// contract: whole batch checked first, nothing applied on error, fields
// relative to the batch. It records what it was asked to do.
type fakeEngine struct {
	now func() time.Time

	mu        sync.Mutex
	venue     crowd.Venue
	latest    map[string]crowd.DensityReading
	alerts    []crowd.Alert
	emergency *crowd.EmergencyMode
	incidents []crowd.Incident
	calls     []string // "method actor args"
	failWith  error    // returned by every call when set
	monitor   *crowd.Monitor
}

func newFakeEngine(now func() time.Time) *fakeEngine {
	f := &fakeEngine{
		now: now,
		venue: crowd.Venue{Name: "Test Arena", Zones: []crowd.Zone{
			crowd.Zone{ID: "north-stand", Name: "North stand", Kind: crowd.Standing, AreaM2: 100, Capacity: 400,
				Polygon: []crowd.Point{{0, 0}, {10, 0}, {10, 10}}}.WithDefaults(),
			crowd.Zone{ID: "gate-a", Name: "Gate A", Kind: crowd.Moving, AreaM2: 20, Capacity: 60}.WithDefaults(),
		}},
		latest: map[string]crowd.DensityReading{},
		alerts: []crowd.Alert{
			{ID: "a1", ZoneID: "north-stand", Level: crowd.Warning, Kind: crowd.KindDensity, Status: crowd.StatusActive, Message: "warning"},
			{ID: "a0", ZoneID: "gate-a", Level: crowd.Watch, Kind: crowd.KindDensity, Status: crowd.StatusResolved, Message: "old"},
		},
	}
	f.monitor = crowd.NewMonitor(f.venue.Zones, crowd.MonitorOptions{})
	return f
}

func (f *fakeEngine) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeEngine) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeEngine) zone(id string) (crowd.Zone, bool) {
	for _, z := range f.venue.Zones {
		if z.ID == id {
			return z, true
		}
	}
	return crowd.Zone{}, false
}

func (f *fakeEngine) Venue() crowd.Venue {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.venue
	v.Zones = slices.Clone(v.Zones)
	return v
}

// futureSlack is how far ahead of the clock a reading may be.
const futureSlack = time.Minute

func (f *fakeEngine) Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	// The rules of what a reading may say are crowd's, as in the engine.
	rs, err := f.monitor.Admit(in, crowd.AdmitOptions{Now: f.now(), MaxClockSkew: futureSlack})
	if err != nil {
		return nil, err
	}
	out := make([]crowd.DensityReading, 0, len(in))
	for _, r := range rs {
		d := f.monitor.Observe(r).Reading
		out = append(out, d)
		f.latest[d.ZoneID] = d
	}
	f.record("Ingest %d", len(out))
	return out, nil
}

func (f *fakeEngine) Latest() []crowd.DensityReading {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []crowd.DensityReading
	for _, z := range f.venue.Zones {
		if d, ok := f.latest[z.ID]; ok {
			out = append(out, d)
		}
	}
	return out
}

func (f *fakeEngine) History(zoneID string, window time.Duration) ([]crowd.DensityReading, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("History %s %s", zoneID, window)
	if d, ok := f.latest[zoneID]; ok {
		return []crowd.DensityReading{d}, nil
	}
	return nil, nil
}

func (f *fakeEngine) Alerts(ctx context.Context, flt store.AlertFilter) ([]crowd.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	f.record("Alerts %+v", flt)
	var out []crowd.Alert
	for _, a := range f.alerts {
		if (flt.Status == "" || a.Status == flt.Status) && (!flt.Open || a.Open()) && (flt.ZoneID == "" || a.ZoneID == flt.ZoneID) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeEngine) Acknowledge(ctx context.Context, id, actor string) (crowd.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Acknowledge %s %s", id, actor)
	for i, a := range f.alerts {
		if a.ID == id {
			a.Status, a.AcknowledgedBy = crowd.StatusAcknowledged, actor
			a.AcknowledgedAt = f.now().UnixMilli()
			f.alerts[i] = a
			return a, nil
		}
	}
	return crowd.Alert{}, crowd.Errorf(crowd.ErrNotFound, "no alert %q", id)
}

func (f *fakeEngine) Emergency() *crowd.EmergencyMode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.emergency
}

func (f *fakeEngine) ActivateEmergency(ctx context.Context, reason string, zoneIDs []string, actor string) (*crowd.EmergencyMode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ActivateEmergency %s %v %s", reason, zoneIDs, actor)
	if err := crowd.CheckReason(reason); err != nil {
		return nil, err
	}
	for i, id := range zoneIDs {
		if _, ok := f.zone(id); !ok {
			return nil, crowd.Invalidf(fmt.Sprintf("zoneIds[%d]", i), "unknown zone %q", id)
		}
	}
	f.emergency = &crowd.EmergencyMode{Active: true, Reason: reason, ZoneIDs: zoneIDs, ActivatedAt: f.now().UnixMilli(), ActivatedBy: actor}
	return f.emergency, nil
}

func (f *fakeEngine) EndEmergency(ctx context.Context, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EndEmergency %s", actor)
	f.emergency = nil
	return nil
}

func (f *fakeEngine) trigger(kind, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("%s %s %s %s", kind, zoneID, level, actor)
	z, _ := f.zone(zoneID)
	d := z.Thresholds.Entry(level) + 0.1
	r := crowd.DensityReading{ZoneID: zoneID, Density: d, Smoothed: d, Level: level, Timestamp: f.now().UnixMilli()}
	a := crowd.Alert{ID: "t-" + zoneID, ZoneID: zoneID, Level: level, Kind: crowd.KindDensity, Status: crowd.StatusActive}
	return []crowd.DensityReading{r}, []crowd.Alert{a}, nil
}

func (f *fakeEngine) TriggerViolation(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error) {
	return f.trigger("TriggerViolation", zoneID, level, actor)
}

func (f *fakeEngine) TriggerBreach(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error) {
	return f.trigger("TriggerBreach", zoneID, level, actor)
}

func (f *fakeEngine) TestAlert(ctx context.Context, zoneID string, level crowd.Level, message, actor string) (crowd.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("TestAlert %s %s %q %s", zoneID, level, message, actor)
	return crowd.Alert{ID: "test-1", ZoneID: zoneID, Level: level, Kind: crowd.KindTest, Message: message, Status: crowd.StatusActive}, nil
}

func (f *fakeEngine) Incidents(ctx context.Context, flt store.IncidentFilter) ([]crowd.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	f.record("Incidents %+v", flt)
	limit := flt.Limit
	if limit == 0 {
		limit = 10000
	}
	var out []crowd.Incident
	for _, in := range f.incidents {
		if in.Seq <= flt.After || (flt.ZoneID != "" && in.ZoneID != flt.ZoneID) ||
			in.Timestamp < flt.Since || (flt.Until != 0 && in.Timestamp >= flt.Until) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, in)
	}
	return out, nil
}

// fakeStreams answers with the topics and the caller it was given, so tests
// see what the API passed on.
type fakeStreams struct{}

func (fakeStreams) Handler(topics []event.Topic) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		names := make([]string, len(topics))
		for i, t := range topics {
			names[i] = string(t)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, ": topics=%s subject=%s\n\n", strings.Join(names, ","), p.Subject)
	})
}

// fakeWeb registers one page, as the dashboard does.
type fakeWeb struct{}

func (fakeWeb) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/crowd-risk/monitor", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>monitor</title>")
	})
}

var errBoom = errors.New("database on fire at 10.0.0.7")
