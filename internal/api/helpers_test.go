package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

var testSecret = []byte("test-secret-test-secret-test-secret!")

// t0 is the fake "now" of every test.
var t0 = time.UnixMilli(1764270000000)

// clock is the fake time source (the only fake the tests use: the engine is
// the real one on a temporary SQLite file, see spy_test.go).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one API under test, served by a real HTTP server on a free port.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	engine *spyEngine
	clock  *clock
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start serves the API. withAuth turns on JWT verification; edit adjusts the
// options before New.
func start(t *testing.T, withAuth bool, edit func(*Options)) *env {
	t.Helper()
	c := &clock{t: t0}
	e := &env{t: t, engine: newSpyEngine(t, c.Now), clock: c, logs: &syncBuffer{}}
	opts := Options{
		Engine:         e.engine,
		Streams:        fakeStreams{},
		Web:            fakeWeb{},
		TestingEnabled: true,
		RateLimit:      RateLimit{PerSecond: -1},
		Logger:         slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:            c.Now,
	}
	if withAuth {
		opts.Auth = auth.NewVerifier(testSecret, c.Now)
	}
	if edit != nil {
		edit(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) token(role string) string {
	e.t.Helper()
	tok, err := auth.Mint(testSecret, "user-"+role, role, time.Hour, e.clock.Now)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// reply is a response read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// apiError decodes the error body, failing the test if it is not the
// contract's shape.
func (r reply) apiError(t *testing.T) crowd.Error {
	t.Helper()
	var body struct {
		Error *crowd.Error `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error == nil || body.Error.Code == "" {
		t.Fatalf("status %d: not a JSON error: %s", r.status, r.body)
	}
	return *body.Error
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d: %v: %s", r.status, err, r.body)
	}
}

// do sends a request; header pairs are name, value, ...
func (e *env) do(method, path, body string, header ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // the client sends req.Host, not a Host header
			continue
		}
		req.Header.Add(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, b}
}

// wantError asserts status, code and field of an error reply.
func wantError(t *testing.T, r reply, status int, code, field string) crowd.Error {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	e := r.apiError(t)
	if e.Code != code || e.Field != field {
		t.Fatalf("error %+v, want code %q field %q", e, code, field)
	}
	return e
}
