package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// The nginx configuration of docs/deployment.md is a file the doc points
// to; these tests run a real nginx (Debian package) with that very text in
// front of the real binary, changing only what a test must: the engine's
// address, the port, and a read timeout short enough to outlast.
const nginxDoc = "../../docs/nginx/crowdrisk.conf"

// nginxReadTimeout is the test's proxy_read_timeout: the engine's
// heartbeat (1 s, see start) must keep an idle stream open past it.
const nginxReadTimeout = 3 * time.Second

func nginxSite(t *testing.T, engineAddr string) func(port int) string {
	t.Helper()
	b, err := os.ReadFile(nginxDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	return func(port int) string {
		s := replaceOnce(t, doc, "server 127.0.0.1:8080;", "server "+engineAddr+";")
		s = replaceOnce(t, s, "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port))
		return replaceOnce(t, s, "proxy_read_timeout 1h;", fmt.Sprintf("proxy_read_timeout %ds;", int(nginxReadTimeout.Seconds())))
	}
}

// replaceOnce fails the test unless old occurs exactly once: the test must
// notice when the documented configuration changes under it.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once (update the test with the doc)", nginxDoc, old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// rawClient does not ask for gzip by itself nor decode it, so the test
// sees exactly what nginx sends.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// itemStream reads every item (messages and comments) of an SSE body.
type itemStream struct {
	items chan sse.Item
	end   chan error
}

func readItems(t *testing.T, body io.Reader) *itemStream {
	s := &itemStream{items: make(chan sse.Item, 1000), end: make(chan error, 1)}
	go func() {
		p := sse.NewParser(body)
		for {
			it, err := p.Next()
			if err != nil {
				s.end <- err
				close(s.items)
				return
			}
			s.items <- it
		}
	}()
	return s
}

// next returns the next message for which cond holds, counting the
// comments on the way; it fails the test after timeout.
func (s *itemStream) next(t *testing.T, timeout time.Duration, cond func(sse.Message) bool) (sse.Message, int) {
	t.Helper()
	deadline := time.After(timeout)
	comments := 0
	for {
		select {
		case it, ok := <-s.items:
			if !ok {
				t.Fatalf("stream ended: %v", <-s.end)
			}
			if it.Kind == sse.KindComment {
				comments++
			} else if it.Kind == sse.KindMessage && cond(it.Message) {
				return it.Message, comments
			}
		case <-deadline:
			t.Fatalf("no matching message within %s", timeout)
		}
	}
}

func openVia(t *testing.T, url string, header ...string) (*http.Response, *itemStream) {
	t.Helper()
	res, err := rawClient.Do(getReq(t, url, header...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %d %s %s", url, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	var body io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bufio.NewReader(res.Body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		body = zr
	}
	return res, readItems(t, body)
}

func isType(typ string) func(sse.Message) bool {
	return func(m sse.Message) bool { return strings.Contains(m.Data, `"type":"`+typ+`"`) }
}

// densityOf matches the density event of zone carrying density d.
func densityOf(zone string, d float64) func(sse.Message) bool {
	return func(m sse.Message) bool {
		var w struct {
			Type string `json:"type"`
			Data struct {
				ZoneID  string  `json:"zoneId"`
				Density float64 `json:"density"`
			} `json:"data"`
		}
		return json.Unmarshal([]byte(m.Data), &w) == nil && w.Type == "density" && w.Data.ZoneID == zone && w.Data.Density == d
	}
}

// postReading sends one reading of zone at density d, timestamped now.
func (p *proc) postReading(t *testing.T, zone string, d float64) {
	t.Helper()
	code, body := p.post(t, "/api/crowd-risk/readings", map[string]any{"zoneId": zone, "density": d, "timestamp": time.Now().UnixMilli()})
	if code != http.StatusAccepted {
		t.Fatalf("post reading: %d %s", code, body)
	}
}

// TestBehindNginx: the real binary behind a real nginx configured as
// docs/deployment.md says: events arrive at once, heartbeats keep an idle
// stream open past nginx's read timeout, a resume with Last-Event-ID gets
// exactly what was missed, and nothing is compressed twice.
func TestBehindNginx(t *testing.T) {
	eng := start(t, freeAddr(t), t.TempDir(), "--simulate=false")
	ngx := testenv.Nginx(t, nginxSite(t, strings.TrimPrefix(eng.base, "http://")))
	via := "http://" + ngx.Addr + "/api/crowd-risk"
	defer func() {
		if t.Failed() {
			t.Logf("nginx error log:\n%s", ngx.ErrorLog())
		}
	}()

	t.Run("EventsArriveWithinOneSecond", func(t *testing.T) {
		_, s := openVia(t, via+"/density-stream")
		s.next(t, 5*time.Second, isType("connected"))
		for i, d := range []float64{0.5, 0.75, 1, 1.25, 1.5} {
			sent := time.Now()
			eng.postReading(t, "gate-a", d)
			s.next(t, 5*time.Second, densityOf("gate-a", d))
			if took := time.Since(sent); took > time.Second {
				t.Errorf("reading %d took %v through nginx; want under 1 s (buffered?)", i, took)
			}
		}
	})

	t.Run("HeartbeatsOutlastReadTimeout", func(t *testing.T) {
		_, s := openVia(t, via+"/alert-stream")
		s.next(t, 5*time.Second, isType("connected"))
		// Nothing happens for twice nginx's read timeout, but heartbeats.
		idle := 2*nginxReadTimeout + time.Second
		time.Sleep(idle)
		select {
		case err := <-s.end:
			t.Fatalf("the idle stream ended within %v: %v", idle, err)
		default:
		}
		code, body := eng.post(t, "/api/crowd-risk/testing/alert", map[string]any{"zoneId": "gate-a", "level": "watch", "message": "after the quiet"})
		if code != 201 && code != 200 {
			t.Fatalf("test alert: %d %s", code, body)
		}
		_, comments := s.next(t, 5*time.Second, func(m sse.Message) bool { return strings.Contains(m.Data, "after the quiet") })
		if comments < int(idle/time.Second)-1 {
			t.Errorf("%d heartbeats in %v with --heartbeat 1s", comments, idle)
		}
	})

	t.Run("ResumeWithLastEventID", func(t *testing.T) {
		alert := func(msg string) {
			code, body := eng.post(t, "/api/crowd-risk/testing/alert", map[string]any{"zoneId": "gate-b", "level": "watch", "message": msg})
			if code != 201 && code != 200 {
				t.Fatalf("test alert: %d %s", code, body)
			}
		}
		res, s := openVia(t, via+"/alert-stream")
		s.next(t, 5*time.Second, isType("connected"))
		alert("resume-1")
		seen, _ := s.next(t, 5*time.Second, func(m sse.Message) bool { return strings.Contains(m.Data, "resume-1") })
		res.Body.Close()
		alert("resume-2")
		alert("resume-3")
		_, r := openVia(t, via+"/alert-stream", "Last-Event-ID", seen.ID)
		hello, _ := r.next(t, 5*time.Second, isType("connected"))
		if !strings.Contains(hello.Data, `"resumed":true`) {
			t.Fatalf("resume through nginx: %s", hello.Data)
		}
		var got []string
		for len(got) < 2 {
			m, _ := r.next(t, 5*time.Second, isType("alert"))
			if !idLess(seen.ID, m.ID) {
				t.Errorf("replayed %s, not after the last id %s", m.ID, seen.ID)
			}
			for _, w := range []string{"resume-1", "resume-2", "resume-3"} {
				if strings.Contains(m.Data, w) {
					got = append(got, w)
				}
			}
		}
		if strings.Join(got, ",") != "resume-2,resume-3" {
			t.Errorf("resumed with %v; want exactly resume-2, resume-3", got)
		}
	})

	t.Run("CompressedOnce", func(t *testing.T) {
		// A stream: the engine gzips it; nginx passes it as it is.
		res, s := openVia(t, via+"/density-stream", "Accept-Encoding", "gzip")
		if cc := res.Header.Get("Cache-Control"); cc != "no-cache, no-transform" {
			t.Errorf("stream Cache-Control through nginx %q; want no-cache, no-transform (docs/deployment.md, CDN)", cc)
		}
		if ce := res.Header.Values("Content-Encoding"); len(ce) != 1 || ce[0] != "gzip" {
			t.Fatalf("stream Content-Encoding %q; want one gzip", ce)
		}
		s.next(t, 5*time.Second, isType("connected")) // decoded once, it is the event stream
		sent := time.Now()
		eng.postReading(t, "fan-zone", 0.9)
		s.next(t, 5*time.Second, densityOf("fan-zone", 0.9))
		if took := time.Since(sent); took > time.Second {
			t.Errorf("a gzipped event took %v through nginx; want under 1 s", took)
		}
		// Without Accept-Encoding the stream is plain.
		plain, p := openVia(t, via+"/density-stream")
		if ce := plain.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("stream without Accept-Encoding has Content-Encoding %q", ce)
		}
		p.next(t, 5*time.Second, isType("connected"))

		// JSON: whichever of the two compresses it, once.
		req := getReq(t, via+"/zones", "Accept-Encoding", "gzip")
		jr, err := rawClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer jr.Body.Close()
		var body io.Reader = jr.Body
		if ce := jr.Header.Values("Content-Encoding"); len(ce) > 1 || (len(ce) == 1 && ce[0] != "gzip") {
			t.Fatalf("JSON Content-Encoding %q", ce)
		} else if len(ce) == 1 {
			if body, err = gzip.NewReader(jr.Body); err != nil {
				t.Fatal(err)
			}
		}
		var zones []map[string]any
		if err := json.NewDecoder(body).Decode(&zones); err != nil || len(zones) == 0 {
			t.Fatalf("zones through nginx, decoded once: %v, %d zones", err, len(zones))
		}
	})
}
