package sse

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

type streamFixture struct {
	hub *hub.Hub
	srv *Server
	ts  *httptest.Server
	seq *event.Sequencer
}

func newStreamFixture(t *testing.T, opts Options) *streamFixture {
	t.Helper()
	f := &streamFixture{hub: hub.New(hub.Options{}), seq: event.NewSequencer(0, nil)}
	opts.Hub = f.hub
	f.srv = NewServer(opts)
	mux := http.NewServeMux()
	mux.Handle("GET /stream", f.srv.Handler(nil))
	mux.Handle("GET /density-stream", f.srv.Handler([]event.Topic{event.TopicDensity}))
	f.ts = httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.srv.Shutdown(ctx)
		f.hub.Close()
		f.ts.Close()
	})
	return f
}

func (f *streamFixture) publish(topic event.Topic, typ, key string, data any) *event.Event {
	b, _ := json.Marshal(map[string]any{"type": typ, "data": data})
	e := &event.Event{ID: f.seq.Next(), Topic: topic, Type: typ, Key: key, Data: b}
	if key != "" {
		e.StateKey = "zone:" + key
	}
	f.hub.Publish(e)
	return e
}

// client reads a stream in the background and hands over parsed items.
type client struct {
	resp  *http.Response
	items chan Item
	errs  chan error
	p     *Parser
}

func (f *streamFixture) connect(t *testing.T, path string, header http.Header) *client {
	t.Helper()
	return f.connectWith(t, f.ts.URL+path, header)
}

func (f *streamFixture) connectURL(t *testing.T, url string) *client {
	t.Helper()
	return f.connectWith(t, url, nil)
}

func (f *streamFixture) connectWith(t *testing.T, url string, header http.Header) *client {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
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
				close(c.items) // after the error, so next drains every item first
				return
			}
			c.items <- it
		}
	}()
	return c
}

func (c *client) next(t *testing.T) Item {
	t.Helper()
	select {
	case it, ok := <-c.items:
		if !ok {
			t.Fatalf("stream ended: %v", <-c.errs)
		}
		return it
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the stream")
	}
	return Item{}
}

func (c *client) message(t *testing.T) Message {
	t.Helper()
	for {
		if it := c.next(t); it.Kind == KindMessage {
			return it.Message
		}
	}
}

type payload struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	// connected
	Timestamp int64    `json:"timestamp"`
	Resumed   bool     `json:"resumed"`
	Topics    []string `json:"topics"`
}

func decode(t *testing.T, m Message) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal([]byte(m.Data), &p); err != nil {
		t.Fatalf("data is not JSON: %q: %v", m.Data, err)
	}
	return p
}

func TestStreamHeadersAndConnectedFirst(t *testing.T) {
	f := newStreamFixture(t, Options{})
	c := f.connect(t, "/stream?topics=density,alerts", nil)
	h := c.resp.Header
	if h.Get("Content-Type") != "text/event-stream; charset=utf-8" || h.Get("Cache-Control") != "no-cache, no-transform" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("headers %v", h)
	}
	m := c.message(t)
	p := decode(t, m)
	if p.Type != "connected" || p.Timestamp == 0 || m.HasID || p.Resumed || fmt.Sprint(p.Topics) != "[density alerts]" {
		t.Fatalf("first message %+v %+v", m, p)
	}
}

func TestLiveEventsCarryTheirIDs(t *testing.T) {
	f := newStreamFixture(t, Options{})
	c := f.connect(t, "/stream", nil)
	c.message(t)
	e := f.publish(event.TopicDensity, "density", "z1", map[string]any{"zoneId": "z1", "density": 2.5})
	m := c.message(t)
	if !m.HasID || m.ID != e.ID.String() || decode(t, m).Type != "density" {
		t.Fatalf("got %+v want id %s", m, e.ID)
	}
}

func TestSnapshotOnConnectEndsWithCheckpoint(t *testing.T) {
	f := newStreamFixture(t, Options{})
	f.publish(event.TopicDensity, "density", "z1", 1)
	f.publish(event.TopicDensity, "density", "z2", 2)
	f.publish(event.TopicDensity, "density", "z1", 3)
	c := f.connect(t, "/density-stream", nil)
	c.message(t)
	var got []string
	for i := 0; i < 2; i++ {
		m := c.message(t)
		if m.HasID {
			t.Fatalf("snapshot messages carry no id of their own: %+v", m)
		}
		got = append(got, string(decode(t, m).Data))
	}
	if fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("snapshot %v", got)
	}
	// The checkpoint is not dispatched but moves lastEventId: the next live
	// event must show it was set.
	next := f.publish(event.TopicDensity, "density", "z2", 4)
	m := c.message(t)
	if m.ID != next.ID.String() || c.p.LastEventID() != next.ID.String() {
		t.Fatalf("live after snapshot %+v", m)
	}
}

func TestResumeFromHeaderAndQuery(t *testing.T) {
	f := newStreamFixture(t, Options{})
	first := f.publish(event.TopicAlerts, "alert", "", "a1")
	f.publish(event.TopicAlerts, "alert", "", "a2")
	f.publish(event.TopicAlerts, "alert", "", "a3")
	for _, tc := range []struct {
		path   string
		header http.Header
	}{
		{"/stream", http.Header{"Last-Event-Id": {first.ID.String()}}},
		{"/stream?lastEventId=" + first.ID.String(), nil},
	} {
		c := f.connect(t, tc.path, tc.header)
		if p := decode(t, c.message(t)); !p.Resumed {
			t.Fatalf("%s: connected says not resumed", tc.path)
		}
		for _, want := range []string{`"a2"`, `"a3"`} {
			m := c.message(t)
			if !m.HasID || string(decode(t, m).Data) != want {
				t.Fatalf("%s: replay got %+v, want %s", tc.path, m, want)
			}
		}
	}
}

func TestUnknownIDGetsResetThenSnapshot(t *testing.T) {
	f := newStreamFixture(t, Options{})
	f.publish(event.TopicDensity, "density", "z1", 7)
	c := f.connect(t, "/stream?lastEventId=not-an-id", nil)
	c.message(t)
	reset := decode(t, c.message(t))
	if reset.Type != "reset" || !strings.Contains(string(reset.Data), "last-event-id-unknown") {
		t.Fatalf("want reset first, got %+v", reset)
	}
	if d := decode(t, c.message(t)); string(d.Data) != "7" {
		t.Fatalf("snapshot %+v", d)
	}
	live := f.publish(event.TopicDensity, "density", "z1", 8)
	if m := c.message(t); m.ID != live.ID.String() || string(decode(t, m).Data) != "8" {
		t.Fatalf("live after the snapshot: %+v", m)
	}
}

func TestAdversarialPayloadsSurviveTheWire(t *testing.T) {
	f := newStreamFixture(t, Options{})
	c := f.connect(t, "/stream", nil)
	c.message(t)
	raw := []string{
		"line one\nline two\n\nafter blank",
		`quotes " and \" and 'single'`,
		"zone Größe – 東口 🚪",
		": not a comment\ndata: not a field\nid: 666",
		"trailing newline\n",
	}
	for _, s := range raw {
		f.hub.Publish(&event.Event{ID: f.seq.Next(), Topic: event.TopicAlerts, Type: "x", Data: []byte(s)})
	}
	for _, want := range raw {
		m := c.message(t)
		if m.Data != want {
			t.Fatalf("payload changed on the wire:\n got %q\nwant %q", m.Data, want)
		}
		if m.ID == "666" {
			t.Fatal("a payload injected an id")
		}
	}
}

func TestCRLFAndCRInDataBecomeLines(t *testing.T) {
	got := string(AppendEvent(nil, "1-0", []byte("a\r\nb\rc\nd")))
	want := "id: 1-0\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
	if got != want {
		t.Fatalf("%q", got)
	}
	if got := string(AppendEvent(nil, "1\n2\r3\x00", []byte("x"))); got != "id: 123\ndata: x\n\n" {
		t.Fatalf("id injection not neutralised: %q", got)
	}
}

func TestHeartbeatComment(t *testing.T) {
	f := newStreamFixture(t, Options{})
	c := f.connect(t, "/stream", nil)
	c.message(t)
	f.hub.Heartbeat()
	for {
		it := c.next(t)
		if it.Kind == KindComment {
			if !strings.HasPrefix(it.Comment, "heartbeat ") {
				t.Fatalf("comment %q", it.Comment)
			}
			return
		}
	}
}

func TestGzipStreamIsFlushedPerBatch(t *testing.T) {
	f := newStreamFixture(t, Options{})
	c := f.connect(t, "/stream", http.Header{"Accept-Encoding": {"gzip"}})
	if c.resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("gzip not used")
	}
	c.message(t)
	e := f.publish(event.TopicAlerts, "alert", "", "live")
	if m := c.message(t); m.ID != e.ID.String() {
		t.Fatalf("%+v", m)
	}
	if !acceptsGzip(&http.Request{Header: http.Header{"Accept-Encoding": {"br, gzip;q=0.5"}}}) ||
		acceptsGzip(&http.Request{Header: http.Header{"Accept-Encoding": {"gzip;q=0"}}}) {
		t.Fatal("Accept-Encoding q values misread")
	}
}

func TestStreamLimits(t *testing.T) {
	f := newStreamFixture(t, Options{MaxStreams: 2, MaxStreamsPerClient: 1})
	c := f.connect(t, "/stream", nil)
	c.message(t)
	resp, err := http.Get(f.ts.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"rate_limited"`) {
		t.Fatalf("per-client cap: %d %s", resp.StatusCode, body)
	}
	g := newStreamFixture(t, Options{MaxStreams: 1})
	g.connect(t, "/stream", nil).message(t)
	resp, _ = http.Get(g.ts.URL + "/stream")
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("overall cap: %d", resp.StatusCode)
	}
}

func TestBadTopicNamesTheField(t *testing.T) {
	f := newStreamFixture(t, Options{})
	resp, _ := http.Get(f.ts.URL + "/stream?topics=density,weather")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"topics"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestShutdownTellsClientsWhenToComeBack(t *testing.T) {
	f := newStreamFixture(t, Options{ShutdownSpread: 3 * time.Second})
	c := f.connect(t, "/stream", nil)
	c.message(t)
	done := make(chan error, 1)
	go func() { done <- f.srv.Shutdown(context.Background()) }()
	var retry int
	for retry == 0 {
		if it := c.next(t); it.Kind == KindRetry {
			retry = it.Retry
		}
	}
	if retry < 500 || retry > 3500 {
		t.Fatalf("retry %d ms outside the spread", retry)
	}
	if p := decode(t, c.message(t)); p.Type != "reconnect" {
		t.Fatalf("%+v", p)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	resp, _ := http.Get(f.ts.URL + "/stream")
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("after shutdown: %d", resp.StatusCode)
	}
}

// TestGzipStreamEndsWithAValidTrailer reads a compressed stream from its
// first byte to the server's goodbye and checks the whole gzip member: the
// shared per-event segments, the stored blocks of this stream's own frames
// and the trailer's CRC and length must add up.
func TestGzipStreamEndsWithAValidTrailer(t *testing.T) {
	f := newStreamFixture(t, Options{})
	f.publish(event.TopicDensity, "density", "z1", 1)
	req, _ := http.NewRequest("GET", f.ts.URL+"/stream", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("not compressed")
	}
	for i := 0; i < 50; i++ {
		f.publish(event.TopicAlerts, "alert", "", strings.Repeat("crowd ", i))
	}
	f.hub.Heartbeat()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// Read until the 50 alerts and the heartbeat arrived (each event is
	// flushed as its own block), then shut down: a fixed sleep was too
	// short on a busy machine, and the shutdown drops what a stream has
	// not been sent yet (its client resumes elsewhere).
	var all bytes.Buffer
	p := NewParser(io.TeeReader(zr, &all))
	for seen, beat := 0, false; seen < 50 || !beat; {
		it, err := p.Next()
		if err != nil {
			t.Fatalf("after %d alerts: %v", seen, err)
		}
		switch {
		case it.Kind == KindMessage && decode(t, it.Message).Type == "alert":
			seen++
		case it.Kind == KindComment:
			beat = true
		}
	}
	go f.srv.Shutdown(context.Background())
	if _, err := io.Copy(&all, zr); err != nil { // fails on a bad block, CRC or length
		t.Fatalf("gzip stream invalid: %v (read %d bytes)", err, all.Len())
	}
	msgs, comments, err := ReadAll(bytes.NewReader(all.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var alerts int
	for _, m := range msgs {
		if decode(t, m).Type == "alert" {
			alerts++
		}
	}
	if alerts != 50 || len(comments) == 0 || decode(t, msgs[len(msgs)-1]).Type != "reconnect" {
		t.Fatalf("%d alerts, %d comments, last %q", alerts, len(comments), msgs[len(msgs)-1].Data)
	}
}

// TestClosedClientFreesItsSlotAtTheNextHeartbeat: a client that goes away
// without the server writing to it (a closed tab) gives its stream slot back
// at the next heartbeat, not after writes start failing.
func TestClosedClientFreesItsSlotAtTheNextHeartbeat(t *testing.T) {
	f := newStreamFixture(t, Options{MaxStreamsPerClient: 1})
	c := f.connect(t, "/stream", nil)
	c.message(t)
	c.resp.Body.Close()
	time.Sleep(100 * time.Millisecond) // its FIN arrives
	f.hub.Heartbeat()                  // one heartbeat, whose write alone would still succeed
	deadline := time.Now().Add(2 * time.Second)
	for f.hub.Subscribers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the closed client still holds its stream after a heartbeat")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.connect(t, "/stream", nil).message(t) // the slot is free again
}
