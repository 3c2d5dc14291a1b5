package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// slowBody opens a real TCP connection and sends a request whose chunked
// body never ends: a chunk every 50 ms, until the server stops listening.
func slowBody(t *testing.T, e *env, method, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n[\r\n"
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			time.Sleep(50 * time.Millisecond)
			if _, err := conn.Write([]byte("1\r\n \r\n")); err != nil {
				return
			}
		}
	}()
	return conn, bufio.NewReader(conn)
}

func TestNeverEndingBodyIsCutOff(t *testing.T) {
	const timeout = 500 * time.Millisecond
	e := start(t, false, func(o *Options) { o.BodyTimeout = timeout })

	// A handler that reads the body gets the deadline as a 408 naming it.
	began := time.Now()
	conn, br := slowBody(t, e, "POST", Prefix+"/readings")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a never-ending body: %v", err)
	}
	took := time.Since(began)
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || body.Error.Code != "request_timeout" || !strings.Contains(body.Error.Message, "500ms") {
		t.Fatalf("got %d %+v, want 408 request_timeout naming the deadline", resp.StatusCode, body)
	}
	if took < timeout || took > timeout+time.Second {
		t.Fatalf("answered after %s, want about %s", took, timeout)
	}
	// And the connection is let go, not held.
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("connection not closed: %v", err)
	}

	// A handler that never reads the body answers; the connection is then
	// dropped within the deadline rather than held while the body trickles.
	began = time.Now()
	conn, br = slowBody(t, e, "GET", Prefix+"/zones")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET with a slow body: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("connection not closed: %v", err)
	}
	if took := time.Since(began); took > timeout+time.Second {
		t.Fatalf("connection held %s", took)
	}
}

// A body that arrives in time is not cut by the deadline however long the
// handler then works (net/http lifts it once the body is in).
func TestBodyDeadlineIsLiftedOnceTheBodyIsIn(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := start(t, false, func(o *Options) {
		o.BodyTimeout = timeout
		o.Engine = slowAlert{o.Engine.(*spyEngine), 3 * timeout}
	})
	r := e.do("POST", Prefix+"/testing/alert", `{"zoneId":"gate-a","level":"warning","message":"drill"}`)
	if r.status/100 != 2 {
		t.Fatalf("slow handler after a prompt body: %d %s", r.status, r.body)
	}
}

// slowAlert works for a while before it raises a test alert, unless its
// request ends meanwhile.
type slowAlert struct {
	*spyEngine
	delay time.Duration
}

func (s slowAlert) TestAlert(ctx context.Context, zoneID string, level crowd.Level, message, actor string) (crowd.Alert, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return crowd.Alert{}, ctx.Err()
	}
	return s.spyEngine.TestAlert(ctx, zoneID, level, message, actor)
}
