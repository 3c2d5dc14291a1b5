package sse

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestHeadAnswersHeadersOnly sends HEAD to the stream endpoints over one
// real TCP connection: each answer is the stream's head with no body, at
// once, and the connection stays usable for the next request.
func TestHeadAnswersHeadersOnly(t *testing.T) {
	f := newStreamFixture(t, Options{})
	conn, err := net.Dial("tcp", f.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	paths := []string{"/stream", "/density-stream", "/stream?topics=alerts"}
	var req strings.Builder
	for _, p := range paths {
		req.WriteString("HEAD " + p + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n")
	}
	began := time.Now()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for _, p := range paths {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
		if err != nil {
			t.Fatalf("HEAD %s: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
			resp.Header.Get("Content-Encoding") != "gzip" || resp.Close {
			t.Fatalf("HEAD %s: %d %v", p, resp.StatusCode, resp.Header)
		}
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("HEAD took %s", d)
	}
	// Nothing follows the heads: no body bytes, and no stream was opened.
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("bytes after the HEAD answers: n=%d err=%v", n, err)
	}
	if n := f.hub.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after HEAD requests", n)
	}
}
