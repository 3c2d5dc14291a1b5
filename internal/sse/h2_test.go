package sse

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testcert"

	"github.com/crowdrisk/crowdrisk/internal/combine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// h2Fixture is a stream server behind a real TLS listener served the way
// the app serves it (http.Server.ServeTLS, HTTP/2 by ALPN), and one
// HTTP/2 client whose streams share its connection.
type h2Fixture struct {
	*streamFixture
	url      string
	client   *http.Client
	conns    atomic.Int64 // TLS connections the server accepted
	combined atomic.Bool  // a connection combines its writes (HTTP/2 negotiated)
}

func newH2Fixture(t *testing.T, opts Options, hubOpts hub.Options) *h2Fixture {
	t.Helper()
	c := testcert.New(t, 0, time.Time{})
	cert, roots := c.TLS, c.Roots
	f := &h2Fixture{streamFixture: &streamFixture{hub: hub.New(hubOpts), seq: event.NewSequencer(0, nil)}}
	opts.Hub = f.hub
	f.srv = NewServer(opts)
	mux := http.NewServeMux()
	mux.Handle("GET /stream", f.srv.Handler(nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// As the app serves it: HTTP/2 connections combine their writes.
	ln = CombineListener(ln, 2*time.Millisecond, 10*time.Second)
	hs := &http.Server{
		Handler:   mux,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				f.conns.Add(1)
			}
			CombineHTTP2(c, s)
			if tc, ok := c.(*tls.Conn); ok && s == http.StateActive {
				if cc, ok := tc.NetConn().(*combine.Conn); ok && cc.Combining() {
					f.combined.Store(true)
				}
			}
		},
	}
	if err := ConfigureHTTP2(hs); err != nil {
		t.Fatal(err)
	}
	go hs.ServeTLS(ln, "", "")
	f.url = "https://" + ln.Addr().String()
	tr := &http.Transport{
		TLSClientConfig:    &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2:  true,
		DisableCompression: true, // the gzip test asks for it itself
	}
	f.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.srv.Shutdown(ctx)
		f.hub.Close()
		tr.CloseIdleConnections()
		_ = hs.Shutdown(ctx)
	})
	return f
}

// open starts one stream on the fixture's client and reads it in the
// background like connectWith.
func (f *h2Fixture) open(t *testing.T, path string, header http.Header) *client {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %d: %s", resp.Proto, resp.StatusCode, b)
	}
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	c := &client{resp: resp, items: make(chan Item, 1000), errs: make(chan error, 1), p: NewParser(body)}
	go func() {
		for {
			it, err := c.p.Next()
			if err != nil {
				c.errs <- err
				close(c.items)
				return
			}
			c.items <- it
		}
	}()
	return c
}

// Many streams over ONE TLS connection, HTTP/2: each gets its connected
// message, every live event with its id, and the heartbeat; a compressed
// stream among them decodes.
func TestHTTP2StreamsMultiplexOnOneConnection(t *testing.T) {
	f := newH2Fixture(t, Options{}, hub.Options{})
	const n = 60
	streams := make([]*client, n)
	for i := range streams {
		var h http.Header
		if i%3 == 0 {
			h = http.Header{"Accept-Encoding": {"gzip"}}
		}
		streams[i] = f.open(t, "/stream?topics=density,alerts", h)
		if i%3 == 0 && streams[i].resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatal("gzip not used on HTTP/2")
		}
		if p := decode(t, streams[i].message(t)); p.Type != "connected" {
			t.Fatalf("first message %+v", p)
		}
	}
	if got := f.conns.Load(); got != 1 {
		t.Fatalf("%d streams took %d connections, want 1", n, got)
	}
	if !f.combined.Load() {
		t.Fatal("the HTTP/2 connection does not combine its writes")
	}
	var want []string
	for i := range 5 {
		want = append(want, f.publish(event.TopicAlerts, "alert", "", i).ID.String())
	}
	f.hub.Heartbeat()
	for i, c := range streams {
		for _, id := range want {
			if m := c.message(t); m.ID != id {
				t.Fatalf("stream %d: got id %q, want %q", i, m.ID, id)
			}
		}
		for {
			if it := c.next(t); it.Kind == KindComment {
				if !strings.HasPrefix(it.Comment, "heartbeat ") {
					t.Fatalf("stream %d: comment %q", i, it.Comment)
				}
				break
			}
		}
	}
}

// A client that comes back over HTTP/2 with Last-Event-ID (header or
// query) gets exactly what it missed, in order.
func TestHTTP2ResumeWithLastEventID(t *testing.T) {
	f := newH2Fixture(t, Options{}, hub.Options{HistorySize: 100})
	var ids []string
	for i := range 6 {
		ids = append(ids, f.publish(event.TopicAlerts, "alert", "", i).ID.String())
	}
	for _, viaQuery := range []bool{false, true} {
		path, h := "/stream?topics=alerts", http.Header{"Last-Event-ID": {ids[2]}}
		if viaQuery {
			path, h = path+"&lastEventId="+ids[2], nil
		}
		c := f.open(t, path, h)
		if p := decode(t, c.message(t)); p.Type != "connected" || !p.Resumed {
			t.Fatalf("query %v: %+v", viaQuery, p)
		}
		for _, id := range ids[3:] {
			if m := c.message(t); m.ID != id {
				t.Fatalf("query %v: got %q, want %q", viaQuery, m.ID, id)
			}
		}
	}
	if got := f.conns.Load(); got != 1 {
		t.Fatalf("%d connections, want 1", got)
	}
}

// Shutdown tells every HTTP/2 stream when to come back, then ends it; a
// stream whose credential expires is told to sign in again, and the
// streams beside it on the same connection carry on.
func TestHTTP2GoodbyesOnShutdownAndExpiry(t *testing.T) {
	f := newH2Fixture(t, Options{ShutdownSpread: 2 * time.Second, Session: sessionFromHeaders}, hub.Options{})
	exp := time.Now().Add(300 * time.Millisecond)
	expiring := f.open(t, "/stream", http.Header{"X-Session": {"s1"}, "X-Expires": {strconv.FormatInt(exp.UnixMilli(), 10)}})
	expiring.message(t)
	others := make([]*client, 10)
	for i := range others {
		others[i] = f.open(t, "/stream", nil)
		others[i].message(t)
	}
	g, _ := waitGoodbye(t, expiring)
	if !g.Reauth || g.Reason != "token expired" {
		t.Fatalf("expiry goodbye %+v", g)
	}
	e := f.publish(event.TopicAlerts, "alert", "", "after the expiry")
	for _, c := range others {
		if m := c.message(t); m.ID != e.ID.String() {
			t.Fatalf("a stream beside the expired one got %q", m.ID)
		}
	}
	done := make(chan error, 1)
	go func() { done <- f.srv.Shutdown(context.Background()) }()
	for i, c := range others {
		g, _ := waitGoodbye(t, c)
		if g.Reauth || g.Reason != "server shutting down" || g.RetryMs < 500 || g.RetryMs > 2500 {
			t.Fatalf("stream %d: shutdown goodbye %+v", i, g)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := f.conns.Load(); got != 1 {
		t.Fatalf("%d connections, want 1", got)
	}
}

// A stream that stops reading on a shared HTTP/2 connection holds back
// neither the other streams nor the server: HTTP/2 flow control stops only
// its own stream, the hub cuts it off once its queue is full, its write
// times out, and the healthy stream beside it gets every alert.
func TestHTTP2SlowStreamDoesNotHoldBackItsConnection(t *testing.T) {
	f := newH2Fixture(t, Options{WriteTimeout: 500 * time.Millisecond}, hub.Options{QueueLimit: 512, HistorySize: 100000})
	// The stuck stream: its body is never read after the connected
	// message, so its HTTP/2 window (4 MiB, Go's client) fills.
	req, _ := http.NewRequest("GET", f.url+"/stream?topics=alerts", nil)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stuck := bufio.NewReader(resp.Body)
	if line, _ := stuck.ReadString('\n'); !strings.Contains(line, "connected") {
		t.Fatalf("stuck stream began with %q", line)
	}
	fast := f.open(t, "/stream?topics=alerts", nil)
	fast.message(t)

	payload := strings.Repeat("x", 8000)
	const n = 1500
	go func() {
		for i := range n {
			f.hub.Publish(&event.Event{ID: f.seq.Next(), Topic: event.TopicAlerts, Type: "alert",
				Data: []byte(fmt.Sprintf(`{"type":"alert","n":%d,"pad":%q}`, i, payload))})
			time.Sleep(500 * time.Microsecond)
		}
	}()
	for i := range n {
		m := fast.message(t)
		if want := fmt.Sprintf(`{"type":"alert","n":%d,`, i); !strings.HasPrefix(m.Data, want) {
			t.Fatalf("healthy stream: message %d is %.40q", i, m.Data)
		}
	}
	// The stuck stream was ended by the server: reading it now reaches
	// the end (or the reset) after what was buffered.
	var wg sync.WaitGroup
	wg.Add(1)
	ended := make(chan error, 1)
	go func() {
		defer wg.Done()
		_, err := io.Copy(io.Discard, stuck)
		ended <- err
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck stream was never ended")
	}
	wg.Wait()
	if got := f.conns.Load(); got != 1 {
		t.Fatalf("%d connections, want 1", got)
	}
}

// A quiet HTTP/2 stream outlives the write timeout: the deadline bounds a
// write, not the silence between two (net/http's HTTP/2 server resets a
// stream whose deadline passes, written to or not; the bench found every
// stream idle for 10 s cut that way).
func TestHTTP2QuietStreamOutlivesTheWriteTimeout(t *testing.T) {
	f := newH2Fixture(t, Options{WriteTimeout: 200 * time.Millisecond}, hub.Options{})
	c := f.open(t, "/stream?topics=alerts", nil)
	c.message(t)
	e := f.publish(event.TopicAlerts, "alert", "", "first")
	if m := c.message(t); m.ID != e.ID.String() {
		t.Fatalf("got %q", m.ID)
	}
	time.Sleep(800 * time.Millisecond) // four write timeouts with nothing to send
	e = f.publish(event.TopicAlerts, "alert", "", "after the silence")
	if m := c.message(t); m.ID != e.ID.String() {
		t.Fatalf("got %q, want %q", m.ID, e.ID)
	}
}

// A stream whose client stops reading while the hub has room for its
// alerts is ended by the watchdog: its Flush waits on HTTP/2 flow control
// until the write timeout, the server resets the stream (the client reads
// an error, not a clean end), and the stream beside it carries on.
func TestHTTP2StuckStreamIsResetByTheWatchdog(t *testing.T) {
	f := newH2Fixture(t, Options{WriteTimeout: time.Second}, hub.Options{QueueLimit: 1 << 20, HistorySize: 100000})
	req, _ := http.NewRequest("GET", f.url+"/stream?topics=alerts", nil)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stuck := bufio.NewReader(resp.Body)
	if line, _ := stuck.ReadString('\n'); !strings.Contains(line, "connected") {
		t.Fatalf("stuck stream began with %q", line)
	}
	fast := f.open(t, "/stream?topics=alerts", nil)
	fast.message(t)
	// 6 MiB of alerts: more than the stuck stream's 4 MiB window. Paced,
	// so that the healthy stream's batches stay small and each of its
	// writes is quick even on a loaded machine.
	payload := strings.Repeat("x", 8000)
	const n = 800
	for i := range n {
		f.hub.Publish(&event.Event{ID: f.seq.Next(), Topic: event.TopicAlerts, Type: "alert",
			Data: []byte(fmt.Sprintf(`{"type":"alert","n":%d,"pad":%q}`, i, payload))})
		if i%8 == 7 {
			time.Sleep(time.Millisecond)
		}
	}
	for i := range n {
		if m := fast.message(t); !strings.HasPrefix(m.Data, fmt.Sprintf(`{"type":"alert","n":%d,`, i)) {
			t.Fatalf("healthy stream: message %d is %.40q", i, m.Data)
		}
	}
	// The stuck stream's handler ends once its write is past due. (Reading
	// its body before then would open its window again: not stuck.)
	waitFor(t, "the stuck stream's subscription released", func() bool { return f.hub.Subscribers() == 1 })
	if got := f.hub.Stats().SlowDisconnects; got != 0 {
		t.Fatalf("%d slow disconnects: the hub, not the watchdog, ended it", got)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, stuck)
		ended <- err
	}()
	select {
	case err := <-ended:
		if err == nil || !strings.Contains(err.Error(), "INTERNAL_ERROR") {
			t.Fatalf("stuck stream ended with %v, want a reset (INTERNAL_ERROR)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck stream's client never saw its end")
	}
}
