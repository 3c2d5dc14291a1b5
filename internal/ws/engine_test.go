package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/crowdrisk/crowdrisk/internal/app"
	"github.com/crowdrisk/crowdrisk/internal/auth"
)

const secret = "0123456789abcdef0123456789abcdef-ws-test"

// startEngine runs the real engine in-process, with authentication on and
// the testing controls enabled, and returns its base URL.
func startEngine(t *testing.T) string {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Simulate = false
	cfg.JWTSecret = secret
	cfg.Testing = "on"
	cfg.ShutdownSpread = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine stopped with %v", err)
		}
	})
	return "http://" + a.Addr()
}

func token(t *testing.T, role string) string {
	t.Helper()
	tok, err := auth.Mint([]byte(secret), "ws-"+role, role, time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type message struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Type      string `json:"type"`
	RequestID string `json:"requestId"`
	OK        bool   `json:"ok"`
	Data      struct {
		ID             string `json:"id"`
		Status         string `json:"status"`
		AcknowledgedBy string `json:"acknowledgedBy"`
	} `json:"data"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

func dial(t *testing.T, base string, h http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/crowd-risk/ws?topics=density,alerts", &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		c.SetReadLimit(1 << 20)
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func bearer(t *testing.T, role string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token(t, role)}}
}

// until reads messages until one satisfies cond.
func until(t *testing.T, c *websocket.Conn, what string, cond func(message) bool) message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if cond(m) {
			return m
		}
	}
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// Through the real engine and API: the token check, the Origin check with a
// session cookie, an alert raised over HTTP arriving over WebSocket, and
// its acknowledgement over WebSocket by an operator (refused for a viewer).
func TestRealEngine(t *testing.T) {
	base := startEngine(t)
	if _, resp, err := dial(t, base, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %v %v, want 401", err, resp)
	}
	if _, resp, err := dial(t, base, http.Header{"Authorization": {"Bearer " + token(t, "sensor")}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a sensor token: %v %v, want 403", err, resp)
	}

	// A session cookie rides along with any page's WebSocket: only our
	// own origin may use it.
	body, _ := json.Marshal(map[string]string{"token": token(t, "operator")})
	resp, err := http.Post(base+"/api/auth/session", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %v %v", err, resp)
	}
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == auth.SessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	if _, resp, err := dial(t, base, http.Header{"Cookie": {cookie}, "Origin": {"https://evil.example"}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign page with the cookie: %v %v, want 403", err, resp)
	}
	op, _, err := dial(t, base, http.Header{"Cookie": {cookie}, "Origin": {base}})
	if err != nil {
		t.Fatalf("our own page with the cookie: %v", err)
	}
	until(t, op, "connected", func(m message) bool { return m.Type == "connected" })
	viewer, _, err := dial(t, base, bearer(t, "viewer"))
	if err != nil {
		t.Fatal(err)
	}
	until(t, viewer, "connected", func(m message) bool { return m.Type == "connected" })

	req, _ := http.NewRequest("POST", base+"/api/crowd-risk/testing/alert", strings.NewReader(`{"zoneId":"gate-a","level":"critical","message":"ws drill"}`))
	req.Header = bearer(t, "admin")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("test alert: %v %v", err, resp)
	}
	resp.Body.Close()
	alert := until(t, viewer, "the test alert", func(m message) bool { return m.Type == "alert" && m.ID != "" })
	if alert.Topic != "alerts" || alert.Data.Status != "active" {
		t.Fatalf("alert %+v", alert)
	}

	send(t, viewer, map[string]string{"op": "acknowledge", "id": alert.Data.ID, "requestId": "v"})
	if m := until(t, viewer, "the viewer's reply", func(m message) bool { return m.Type == "reply" }); m.OK || m.Error == nil || m.Error.Code != "forbidden" {
		t.Fatalf("viewer acknowledged: %+v", m)
	}
	send(t, op, map[string]string{"op": "acknowledge", "id": alert.Data.ID, "requestId": "o"})
	if m := until(t, op, "the operator's reply", func(m message) bool { return m.Type == "reply" }); !m.OK || m.RequestID != "o" ||
		m.Data.Status == "active" || m.Data.AcknowledgedBy != "ws-operator" {
		t.Fatalf("operator's acknowledgement: %+v", m)
	}
	until(t, viewer, "the acknowledged alert", func(m message) bool {
		// A drill's acknowledgement resolves it at once.
		return m.Type == "alert" && m.Data.ID == alert.Data.ID && m.Data.AcknowledgedBy == "ws-operator" && m.ID != "" && m.ID != alert.ID
	})
	send(t, op, map[string]string{"op": "acknowledge", "id": "al_nope", "requestId": "n"})
	if m := until(t, op, "a reply", func(m message) bool { return m.Type == "reply" }); m.OK || m.Error.Code != "not_found" {
		t.Fatalf("unknown alert: %+v", m)
	}
}
