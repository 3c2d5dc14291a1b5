package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestFullDiskThenSIGKILL is the unlucky operator, on the real
// binary with its data directory on a small tmpfs that fills up: operator
// commands answer 503 and change nothing; an emergency the readings raise
// is still shown live, with the store banner's message; /readyz names the
// store; after a SIGKILL (the unsaved emergency dies with the process) and
// a restart with room again, a screen that resumes from the last id it saw
// gets a reset, not "resumed" with an emergency the server no longer has.
func TestFullDiskThenSIGKILL(t *testing.T) {
	addr, dir := freeAddr(t), testenv.Tmpfs(t, 8<<20)
	p := start(t, addr, dir, "--simulate=false")
	s := openStream(t, p.base+"/api/crowd-risk/alert-stream")
	if w := decodeMsg(t, <-s.msgs); w.Type != "connected" {
		t.Fatalf("first message %+v", w)
	}
	free := testenv.Fill(t, dir)

	for _, c := range []struct {
		path string
		body any
	}{
		{"/api/crowd-risk/testing/alert", map[string]any{"zoneId": "gate-a", "level": "critical"}},
		{"/api/crowd-risk/emergency", map[string]any{"reason": "crush at gate A", "zoneIds": []string{"gate-a"}}},
	} {
		code, body := p.post(t, c.path, c.body)
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unavailable"`) || !strings.Contains(string(body), "disk full") {
			t.Fatalf("POST %s on a full disk: %d %s", c.path, code, body)
		}
	}
	var em json.RawMessage
	p.getJSON(t, "/api/crowd-risk/emergency", &em)
	if string(em) != "null" {
		t.Fatalf("a refused activation shows: %s", em)
	}

	// The crowd itself: readings still count, and the emergency they raise
	// is shown although it cannot be saved.
	d := append(ramp(0.5, 0.5, 15), ramp(9, 9, 20)...)
	if code, body := p.post(t, "/api/crowd-risk/readings", series("gate-a", d)); code != http.StatusAccepted {
		t.Fatalf("readings on a full disk: %d %s", code, body)
	}
	lastID, sawEmergency, sawBanner := "", false, false
	s.until(t, 10*time.Second, func(m sse.Message) bool {
		w := decodeMsg(t, m)
		if m.HasID {
			lastID = m.ID
		}
		switch w.Type {
		case "emergency":
			sawEmergency = sawEmergency || string(w.Data) != "null"
		case "store":
			sawBanner = sawBanner || strings.Contains(string(w.Data), `"ok":false`)
		}
		return sawEmergency && sawBanner
	})
	resp, err := http.Get(p.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "store: disk full since") {
		t.Fatalf("readyz on a full disk: %d %s", resp.StatusCode, body)
	}

	p.kill()
	free()
	q := start(t, addr, dir, "--simulate=false")
	q.getJSON(t, "/api/crowd-risk/emergency", &em)
	if string(em) != "null" {
		t.Fatalf("emergency after the restart: %s (it was never saved)", em)
	}
	r := openStream(t, q.base+"/api/crowd-risk/alert-stream?lastEventId="+lastID)
	if w := decodeMsg(t, <-r.msgs); w.Type != "connected" || w.Resumed {
		t.Fatalf("a screen that saw the unsaved emergency was resumed: %+v", w)
	}
	if w := decodeMsg(t, <-r.msgs); w.Type != "reset" {
		t.Fatalf("second message %+v; want a reset", w)
	}
	resp, err = http.Get(q.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after the restart with room: %d", resp.StatusCode)
	}
}
