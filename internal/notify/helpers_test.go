package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
	"github.com/crowdrisk/crowdrisk/internal/venue"
)

var secret = []byte("test-secret-test-secret-test-secret")

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type nopPublisher struct{}

func (nopPublisher) Publish(...*event.Event) {}

// rig is an engine on a real SQLite file, as the app wires it.
type rig struct {
	path  string
	store *sqlite.Store
	eng   *engine.Engine
}

func openRig(t *testing.T, path string, now func() time.Time) *rig {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "crowdrisk.db")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	last, err := s.LastEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	floor := max(last, event.NewID(now().UnixMilli(), 0))
	eng, err := engine.New(ctx, engine.Options{Venue: venue.Demo(), Store: s, Publisher: nopPublisher{},
		Sequencer: event.NewSequencer(floor, nil), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{path: path, store: s, eng: eng}
}

func (r *rig) raise(t *testing.T, zone string, level crowd.Level) crowd.Alert {
	t.Helper()
	a, err := r.eng.TestAlert(context.Background(), zone, level, "", "tester")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// hit is one request a test receiver took.
type hit struct {
	Header  http.Header
	Body    []byte
	Payload Payload
	Alert   crowd.Alert
}

// receiverServer is a real HTTP receiver whose behaviour a test switches:
// "ok" (200), "fail" (500) or "stall" (answers after stall, longer than
// the notifier's client timeout).
type receiverServer struct {
	*httptest.Server
	mu    sync.Mutex
	mode  string
	stall time.Duration
	ok    []hit // requests answered 200
	tries int   // every request
}

func newReceiver(t *testing.T, mode string) *receiverServer {
	rs := &receiverServer{mode: mode, stall: time.Second}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.tries++
		mode, stall := rs.mode, rs.stall
		rs.mu.Unlock()
		switch mode {
		case "fail":
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		case "stall":
			select {
			case <-time.After(stall):
			case <-r.Context().Done():
			}
			http.Error(w, "too late", http.StatusServiceUnavailable)
			return
		}
		h := hit{Header: r.Header.Clone(), Body: body}
		if json.Unmarshal(body, &h.Payload) == nil {
			_ = json.Unmarshal(h.Payload.Alert, &h.Alert)
		}
		rs.mu.Lock()
		rs.ok = append(rs.ok, h)
		rs.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *receiverServer) setMode(m string) { rs.mu.Lock(); rs.mode = m; rs.mu.Unlock() }

func (rs *receiverServer) hits() []hit {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]hit(nil), rs.ok...)
}

func (rs *receiverServer) attempts() int { rs.mu.Lock(); defer rs.mu.Unlock(); return rs.tries }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run starts n until the test ends.
func run(t *testing.T, n *Notifier) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
