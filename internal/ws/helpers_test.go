package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// fixture is a hub and a WebSocket server over it on a real socket. The
// role of each connection comes from the X-Test-Role header, standing in
// for the API's token check (tested through the real engine in
// engine_test.go).
type fixture struct {
	t   *testing.T
	hub *hub.Hub
	ws  *Server
	srv *httptest.Server
	mu  sync.Mutex
	seq uint64
	ms  int64
}

func newFixture(t *testing.T, ho hub.Options, o Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ms: time.Now().UnixMilli()}
	f.hub = hub.New(ho)
	o.Hub = f.hub
	f.ws = NewServer(o)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role := auth.Role(r.Header.Get("X-Test-Role"))
		if role == "" {
			role = auth.Viewer
		}
		ctx := auth.WithPrincipal(r.Context(), auth.Principal{Subject: "tester-" + string(role), Role: role})
		f.ws.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.ws.Shutdown(ctx)
		f.hub.Close()
		f.srv.Close()
	})
	return f
}

func (f *fixture) nextID() event.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return event.NewID(f.ms, f.seq)
}

func (f *fixture) density(zone string, v int) *event.Event {
	return &event.Event{ID: f.nextID(), Topic: event.TopicDensity, Type: event.TypeDensity, Key: zone, StateKey: "zone:" + zone,
		Data: fmt.Appendf(nil, `{"type":"density","data":{"zoneId":%q,"density":%d}}`, zone, v)}
}

func (f *fixture) alert(id string, pad int) *event.Event {
	return &event.Event{ID: f.nextID(), Topic: event.TopicAlerts, Type: event.TypeAlert, StateKey: "alert:" + id,
		Data: fmt.Appendf(nil, `{"type":"alert","data":{"id":%q,"pad":%q}}`, id, strings.Repeat("x", pad))}
}

// url is the WebSocket address with a query.
func (f *fixture) url(query string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws?" + query
}

// msg is a message as a client reads it.
type msg struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	RequestID string          `json:"requestId"`
	OK        bool            `json:"ok"`
	Error     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Resumed bool `json:"resumed"`
}

type client struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, url string, h http.Header) (*client, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &client{t: t, c: c}, resp, nil
}

func mustDial(t *testing.T, url string, h http.Header) *client {
	t.Helper()
	c, _, err := dial(t, url, h)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

// read returns the next message, failing after timeout.
func (c *client) read(timeout time.Duration) (msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, b, err := c.c.Read(ctx)
	if err != nil {
		return msg{}, err
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("binary message")
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("message %s is not JSON: %v", b, err)
	}
	return m, nil
}

func (c *client) next() msg {
	c.t.Helper()
	m, err := c.read(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// expect reads the next messages and checks their types.
func (c *client) expect(types ...string) []msg {
	c.t.Helper()
	out := make([]msg, len(types))
	for i, want := range types {
		out[i] = c.next()
		if out[i].Type != want {
			c.t.Fatalf("message %d: type %q (%+v), want %q", i, out[i].Type, out[i], want)
		}
	}
	return out
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// waitSubscribers waits until the hub holds n subscribers.
func (f *fixture) waitSubscribers(n int) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.hub.Subscribers() != n {
		if time.Now().After(deadline) {
			f.t.Fatalf("hub holds %d subscribers, want %d", f.hub.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
