package main

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
)

// clientFrom is an HTTP client whose connections leave from the local
// address ip (any 127/8 address is this machine), as a second screen would
// from its own address.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}}
}

// streamWith opens a stream with client and req; a non-200 answer is
// returned as its status with a nil stream.
func streamWith(t *testing.T, client *http.Client, req *http.Request) (*stream, int) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	s := &stream{msgs: make(chan sse.Message, 10000), end: make(chan error, 1), body: resp.Body}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		p := sse.NewParser(resp.Body)
		for {
			it, err := p.Next()
			if err != nil {
				s.end <- err
				close(s.msgs)
				return
			}
			if it.Kind == sse.KindMessage {
				s.msgs <- it.Message
			}
		}
	}()
	return s, 200
}

func getReq(t *testing.T, url string, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// TestStreamCapIsPerAddressWithoutAuth: without a secret every caller is the
// same "local" admin, so the per-client cap must count addresses, or one
// screen's streams lock every other screen out.
func TestStreamCapIsPerAddressWithoutAuth(t *testing.T) {
	p := start(t, freeAddr(t), t.TempDir(), "--simulate=false", "--max-streams-per-client", "2")
	url := p.base + "/api/crowd-risk/stream"
	one, two := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	for i := 0; i < 2; i++ {
		if _, code := streamWith(t, one, getReq(t, url)); code != 200 {
			t.Fatalf("stream %d from 127.0.0.1: %d", i+1, code)
		}
	}
	if _, code := streamWith(t, one, getReq(t, url)); code != http.StatusTooManyRequests {
		t.Fatalf("third stream from 127.0.0.1: %d, want 429", code)
	}
	// A client cannot pose as another address with a header.
	if _, code := streamWith(t, one, getReq(t, url, "X-Forwarded-For", "10.1.2.3")); code != http.StatusTooManyRequests {
		t.Fatalf("third stream from 127.0.0.1 claiming X-Forwarded-For: %d, want 429", code)
	}
	for i := 0; i < 2; i++ {
		if _, code := streamWith(t, two, getReq(t, url)); code != 200 {
			t.Fatalf("stream %d from 127.0.0.2 while 127.0.0.1 is at its cap: %d", i+1, code)
		}
	}
	if _, code := streamWith(t, two, getReq(t, url)); code != http.StatusTooManyRequests {
		t.Fatalf("third stream from 127.0.0.2: %d, want 429", code)
	}
}

// A refused WebSocket handshake is answered like every other API error
// (one error mapping): JSON naming the field, no-store, a request id.
func TestWebSocketRefusalsAreAPIErrors(t *testing.T) {
	p := start(t, freeAddr(t), t.TempDir(), "--simulate=false")
	for _, tc := range []struct {
		name, path string
		header     []string
		field      string
	}{
		{"no upgrade", "/api/crowd-risk/ws?topics=alerts", nil, "Upgrade"},
		{"bad topic", "/api/crowd-risk/ws?topics=weather", []string{"Upgrade", "websocket", "Connection", "Upgrade"}, "topics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(getReq(t, p.base+tc.path, tc.header...))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message, Field string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest || body.Error.Code != "invalid" || body.Error.Field != tc.field {
				t.Fatalf("%d %+v, want 400 invalid naming %s", resp.StatusCode, body.Error, tc.field)
			}
			for h, want := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}
