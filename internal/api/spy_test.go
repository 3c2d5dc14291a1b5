package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// spyEngine is the real engine on a temporary SQLite file, with a window
// for the tests: it records what the API asked of it (which actor, which
// window) and can be told to fail every call, to check the error mapping.
// The rules are the engine's own; nothing here re-implements them.
type spyEngine struct {
	*engine.Engine
	store store.Store

	mu       sync.Mutex
	calls    []string // "method args actor"
	failWith error    // returned by every recorded call when set
}

// testVenue is the API tests' venue: a standing stand and a moving gate.
func testVenue() crowd.Venue {
	return crowd.Venue{Name: "Test Arena", Zones: []crowd.Zone{
		crowd.Zone{ID: "north-stand", Name: "North stand", Kind: crowd.Standing, AreaM2: 100, Capacity: 400,
			Polygon: []crowd.Point{{0, 0}, {10, 0}, {10, 10}}}.WithDefaults(),
		crowd.Zone{ID: "gate-a", Name: "Gate A", Kind: crowd.Moving, AreaM2: 20, Capacity: 60}.WithDefaults(),
	}}
}

// newSpyEngine opens a store in t's temp dir holding an active warning
// alert "a1" (north-stand) and a resolved one "a0" (gate-a), and starts the
// real engine on it, which restores a1 as open.
func newSpyEngine(t *testing.T, now func() time.Time) *spyEngine {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := now().Add(-time.Minute).UnixMilli()
	seed := store.Batch{Alerts: []crowd.Alert{
		{ID: "a1", ZoneID: "north-stand", Level: crowd.Warning, Kind: crowd.KindDensity, Status: crowd.StatusActive, Message: "warning", Timestamp: at, UpdatedAt: at, Notifications: 1},
		{ID: "a0", ZoneID: "gate-a", Level: crowd.Watch, Kind: crowd.KindDensity, Status: crowd.StatusResolved, Message: "old", Timestamp: at - 1000, UpdatedAt: at, ResolvedAt: at},
	}}
	if err := s.Commit(ctx, seed); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(ctx, engine.Options{Venue: testVenue(), Store: s, Publisher: dropPublisher{},
		Sequencer: event.NewSequencer(0, now), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return &spyEngine{Engine: e, store: s}
}

// commit writes b to the engine's store, as the engine would have.
func (f *spyEngine) commit(t *testing.T, b store.Batch) {
	t.Helper()
	if err := f.store.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// record notes a call and returns the injected failure, if any.
func (f *spyEngine) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.failWith
}

func (f *spyEngine) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *spyEngine) fail(err error) {
	f.mu.Lock()
	f.failWith = err
	f.mu.Unlock()
}

func (f *spyEngine) Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error) {
	if err := f.record("Ingest %d", len(in)); err != nil {
		return nil, err
	}
	return f.Engine.Ingest(ctx, in)
}

func (f *spyEngine) History(zoneID string, window time.Duration) ([]crowd.DensityReading, error) {
	if err := f.record("History %s %s", zoneID, window); err != nil {
		return nil, err
	}
	return f.Engine.History(zoneID, window)
}

func (f *spyEngine) Alerts(ctx context.Context, flt store.AlertFilter) ([]crowd.Alert, error) {
	if err := f.record("Alerts %+v", flt); err != nil {
		return nil, err
	}
	return f.Engine.Alerts(ctx, flt)
}

func (f *spyEngine) Acknowledge(ctx context.Context, id, actor string) (crowd.Alert, error) {
	if err := f.record("Acknowledge %s %s", id, actor); err != nil {
		return crowd.Alert{}, err
	}
	return f.Engine.Acknowledge(ctx, id, actor)
}

func (f *spyEngine) ActivateEmergency(ctx context.Context, reason string, zoneIDs []string, actor string) (*crowd.EmergencyMode, error) {
	if err := f.record("ActivateEmergency %s %v %s", reason, zoneIDs, actor); err != nil {
		return nil, err
	}
	return f.Engine.ActivateEmergency(ctx, reason, zoneIDs, actor)
}

func (f *spyEngine) EndEmergency(ctx context.Context, actor string) error {
	if err := f.record("EndEmergency %s", actor); err != nil {
		return err
	}
	return f.Engine.EndEmergency(ctx, actor)
}

func (f *spyEngine) TriggerViolation(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error) {
	if err := f.record("TriggerViolation %s %s %s", zoneID, level, actor); err != nil {
		return nil, nil, err
	}
	return f.Engine.TriggerViolation(ctx, zoneID, level, actor)
}

func (f *spyEngine) TriggerBreach(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error) {
	if err := f.record("TriggerBreach %s %s %s", zoneID, level, actor); err != nil {
		return nil, nil, err
	}
	return f.Engine.TriggerBreach(ctx, zoneID, level, actor)
}

func (f *spyEngine) TestAlert(ctx context.Context, zoneID string, level crowd.Level, message, actor string) (crowd.Alert, error) {
	if err := f.record("TestAlert %s %s %q %s", zoneID, level, message, actor); err != nil {
		return crowd.Alert{}, err
	}
	return f.Engine.TestAlert(ctx, zoneID, level, message, actor)
}

func (f *spyEngine) Incidents(ctx context.Context, flt store.IncidentFilter) ([]crowd.Incident, error) {
	if err := f.record("Incidents %+v", flt); err != nil {
		return nil, err
	}
	return f.Engine.Incidents(ctx, flt)
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

var _ = strings.Join
var _ = auth.FromContext
var _ http.Handler
