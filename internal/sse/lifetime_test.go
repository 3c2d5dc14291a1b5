package sse

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// sessionFromHeaders stands in for the API's token check: the session and
// the expiry (ms) come in request headers.
func sessionFromHeaders(r *http.Request) (string, time.Time) {
	var exp time.Time
	if ms, err := strconv.ParseInt(r.Header.Get("X-Expires"), 10, 64); err == nil {
		exp = time.UnixMilli(ms)
	}
	return r.Header.Get("X-Session"), exp
}

type goodbyeData struct {
	RetryMs int64  `json:"retryMs"`
	Reason  string `json:"reason"`
	Reauth  bool   `json:"reauth"`
}

// waitGoodbye reads until the reconnect message and then the end of the
// stream, returning the message and when the stream ended.
func waitGoodbye(t *testing.T, c *client) (goodbyeData, time.Time) {
	t.Helper()
	var g goodbyeData
	for {
		it, ok := <-c.items
		if !ok {
			if err := <-c.errs; err != io.EOF {
				t.Fatalf("stream ended with %v", err)
			}
			if g.Reason == "" {
				t.Fatal("stream ended without a reconnect message")
			}
			return g, time.Now()
		}
		if it.Kind == KindMessage {
			if p := decode(t, it.Message); p.Type == "reconnect" {
				json.Unmarshal(p.Data, &g)
			}
		}
	}
}

func TestStreamEndsWithItsCredential(t *testing.T) {
	for _, pooled := range []bool{true, false} {
		name := map[bool]string{true: "pool", false: "own goroutine"}[pooled]
		t.Run(name, func(t *testing.T) {
			f := newStreamFixture(t, Options{Session: sessionFromHeaders, DisablePool: !pooled})
			header := func(session string, exp time.Time) http.Header {
				return http.Header{"X-Session": {session}, "X-Expires": {strconv.FormatInt(exp.UnixMilli(), 10)}}
			}

			// At its expiry.
			exp := time.Now().Add(700 * time.Millisecond).Truncate(time.Millisecond) // as the header carries it
			c := f.connect(t, "/stream", header("s1", exp))
			c.message(t)
			g, ended := waitGoodbye(t, c)
			if !g.Reauth || g.Reason != "token expired" || g.RetryMs <= 0 {
				t.Fatalf("goodbye %+v", g)
			}
			if late := ended.Sub(exp); late < 0 || late > time.Second {
				t.Fatalf("stream ended %s after its expiry", late)
			}

			// On its session's sign-out, and only its session's.
			far := time.Now().Add(time.Hour)
			a1, a2 := f.connect(t, "/stream", header("s2", far)), f.connect(t, "/density-stream", header("s2", far))
			other := f.connect(t, "/stream", header("s3", far))
			for _, c := range []*client{a1, a2, other} {
				c.message(t)
			}
			if n := f.srv.EndSession("s2"); n != 2 {
				t.Fatalf("EndSession ended %d streams, want 2", n)
			}
			for _, c := range []*client{a1, a2} {
				if g, _ := waitGoodbye(t, c); !g.Reauth || g.Reason != "signed out" {
					t.Fatalf("goodbye %+v", g)
				}
			}
			f.publish("density", "density", "gate-a", map[string]any{"zoneId": "gate-a"})
			if p := decode(t, other.message(t)); p.Type != "density" {
				t.Fatalf("the other session's stream got %+v", p)
			}
			// Ended streams leave the table (their release runs just after
			// the connection closes).
			for deadline := time.Now().Add(2 * time.Second); f.srv.EndSession("s2") != 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("ended streams stay in the session table")
				}
			}

			// A token past its expiry opens no stream.
			req, _ := http.NewRequest("GET", f.ts.URL+"/stream", nil)
			req.Header = header("s4", time.Now().Add(-time.Second))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("expired credential: %d", resp.StatusCode)
			}
		})
	}
}
