package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

func TestSnapshotThenLive(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{})
	f.hub.Publish(f.density("gate-a", 1), f.alert("al_1", 0))
	c := mustDial(t, f.url("topics=density,alerts"), nil)
	ms := c.expect("connected", "density", "alert", "checkpoint")
	if ms[0].Resumed {
		t.Error("a fresh connection says resumed")
	}
	for _, m := range ms[1:3] {
		if m.ID != "" {
			t.Errorf("snapshot event %s carries id %q: ids on the wire must keep increasing", m.Type, m.ID)
		}
	}
	if ms[1].Topic != "density" || ms[2].Topic != "alerts" {
		t.Errorf("topics %q, %q", ms[1].Topic, ms[2].Topic)
	}
	if want := f.hub.Last().String(); ms[3].ID != want {
		t.Errorf("checkpoint %q, want %q", ms[3].ID, want)
	}
	live := f.density("gate-a", 2)
	f.hub.Publish(live)
	m := c.expect("density")[0]
	if m.ID != live.ID.String() || m.Topic != "density" || !strings.Contains(string(m.Data), `"density":2`) {
		t.Errorf("live event %+v data %s", m, m.Data)
	}
}

func TestTopicsFilter(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{})
	c := mustDial(t, f.url("topics=alerts"), nil)
	c.expect("connected")
	f.waitSubscribers(1)
	f.hub.Publish(f.density("gate-a", 1), f.alert("al_1", 0))
	if m := c.next(); m.Type != "alert" {
		t.Fatalf("got %+v, want only the alert", m)
	}
	if _, _, err := dial(t, f.url("topics=nope"), nil); err == nil {
		t.Fatal("an unknown topic was accepted")
	}
}

// A client that resumes gets exactly what it missed: no gap, no duplicate,
// then the live events.
func TestResumeWithoutGapOrDuplicate(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{})
	evs := []*event.Event{f.alert("al_1", 0), f.density("z", 1), f.alert("al_2", 0), f.density("z", 2)}
	f.hub.Publish(evs...)
	c := mustDial(t, f.url("topics=density,alerts&lastEventId="+evs[0].ID.String()), nil)
	ms := c.expect("connected", "density", "alert", "density")
	if !ms[0].Resumed {
		t.Error("resume not reported")
	}
	for i, m := range ms[1:] {
		if m.ID != evs[i+1].ID.String() {
			t.Errorf("replay %d: id %q, want %q", i, m.ID, evs[i+1].ID)
		}
	}
	f.waitSubscribers(1)
	live := f.alert("al_3", 0)
	f.hub.Publish(live)
	if m := c.next(); m.ID != live.ID.String() {
		t.Fatalf("after the replay: %+v, want %s", m, live.ID)
	}
}

func TestResetOnUnknownID(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{})
	f.hub.Publish(f.density("gate-a", 1))
	future := event.NewID(time.Now().Add(time.Hour).UnixMilli(), 0).String()
	for _, last := range []string{"garbage", future} {
		c := mustDial(t, f.url("lastEventId="+last), nil)
		ms := c.expect("connected", "reset", "density", "checkpoint")
		var data struct {
			Topics []string `json:"topics"`
			Reason string   `json:"reason"`
		}
		_ = json.Unmarshal(ms[1].Data, &data)
		if len(data.Topics) != 2 || data.Reason != hub.ReasonUnknownID || ms[0].Resumed {
			t.Errorf("last id %q: reset %s, resumed %v", last, ms[1].Data, ms[0].Resumed)
		}
	}
}

func TestOrigin(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{AllowedOrigins: []string{"https://ops.example.org"}})
	host := strings.TrimPrefix(f.srv.URL, "http://")
	for origin, ok := range map[string]bool{
		"":                                     true, // not a browser
		"http://" + host:                       true, // same origin
		"https://ops.example.org":              true,
		"https://evil.example":                 false,
		"https://ops.example.org.evil.example": false,
		"null":                                 false,
	} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, resp, err := dial(t, f.url(""), h)
		if ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", origin, err)
				continue
			}
			c.expect("connected")
			continue
		}
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: err %v, response %v; want 403", origin, err, resp)
		}
	}
}

func TestPlainGETIsRefused(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{})
	resp, err := http.Get(f.srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || f.hub.Subscribers() != 0 {
		t.Fatalf("status %d, subscribers %d", resp.StatusCode, f.hub.Subscribers())
	}
}

func TestHeartbeat(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{})
	c := mustDial(t, f.url(""), nil)
	c.expect("connected")
	f.waitSubscribers(1)
	f.hub.Heartbeat()
	c.expect("heartbeat")
}

func TestLimits(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{MaxStreamsPerClient: 1, MaxStreams: 2,
		ClientKey: func(r *http.Request) string { return r.Header.Get("X-Client") }})
	mustDial(t, f.url(""), nil).expect("connected")
	_, resp, err := dial(t, f.url(""), nil)
	if err == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second connection of a client: %v %v", err, resp)
	}
	// Another client.
	mustDial(t, f.url(""), http.Header{"X-Client": {"b"}}).expect("connected")
	_, resp, err = dial(t, f.url(""), http.Header{"X-Client": {"c"}})
	if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection over the total: %v %v", err, resp)
	}
}

// A client that lets alerts pile up is disconnected and resumes from its
// last id with every one of them.
func TestSlowClientDisconnectedThenResumes(t *testing.T) {
	f := newFixture(t, hub.Options{QueueLimit: 8}, Options{WriteTimeout: 300 * time.Millisecond})
	c := mustDial(t, f.url("topics=alerts"), nil)
	c.expect("connected")
	f.waitSubscribers(1)
	// The client reads nothing while big alerts are published: the socket
	// buffers fill, the writer blocks, the queue passes its limit.
	var published []string
	deadline := time.Now().Add(10 * time.Second)
	for f.hub.Subscribers() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that reads nothing was never disconnected")
		}
		e := f.alert("al", 64<<10)
		published = append(published, e.ID.String())
		f.hub.Publish(e)
		time.Sleep(time.Millisecond)
	}
	var got []string
	for {
		m, err := c.read(5 * time.Second)
		if err != nil {
			break
		}
		got = append(got, m.ID)
	}
	if len(got) == 0 || len(got) >= len(published) {
		t.Fatalf("read %d of %d before the disconnect", len(got), len(published))
	}
	last := got[len(got)-1]
	c2 := mustDial(t, f.url("topics=alerts&lastEventId="+last), nil)
	if !c2.expect("connected")[0].Resumed {
		t.Fatal("not resumed")
	}
	for len(got) < len(published) {
		got = append(got, c2.expect("alert")[0].ID)
	}
	for i := range published {
		if got[i] != published[i] {
			t.Fatalf("alert %d: %s, want %s (gap or duplicate)", i, got[i], published[i])
		}
	}
}

func TestShutdownSaysWhenToComeBack(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{ShutdownSpread: 100 * time.Millisecond})
	c := mustDial(t, f.url(""), nil)
	c.expect("connected")
	f.waitSubscribers(1)
	done := make(chan error, 1)
	go func() { done <- f.ws.Shutdown(context.Background()) }()
	m := c.expect("reconnect")[0]
	var data struct {
		RetryMs int64 `json:"retryMs"`
		Reauth  bool  `json:"reauth"`
	}
	_ = json.Unmarshal(m.Data, &data)
	if data.RetryMs < 500 || data.RetryMs > 600 || data.Reauth {
		t.Errorf("reconnect %s", m.Data)
	}
	if _, err := c.read(5 * time.Second); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("closed with %v, want 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, resp, err := dial(t, f.url(""), nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a connection after shutdown: %v %v", err, resp)
	}
}

func TestSessionEndAndExpiry(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{Session: func(r *http.Request) (string, time.Time) {
		if r.URL.Query().Get("expiring") != "" {
			// Relative to the handshake: a slow machine must not expire
			// the token before the connection opens.
			return "s2", time.Now().Add(300 * time.Millisecond)
		}
		return "s1", time.Time{}
	}})
	c := mustDial(t, f.url(""), nil)
	c.expect("connected")
	f.waitSubscribers(1)
	if n := f.ws.EndSession("s1"); n != 1 {
		t.Fatalf("EndSession ended %d", n)
	}
	if m := c.expect("reconnect")[0]; !strings.Contains(string(m.Data), `"reauth":true`) {
		t.Errorf("sign-out: %s", m.Data)
	}
	c2 := mustDial(t, f.url("expiring=1"), nil)
	c2.expect("connected")
	if m := c2.expect("reconnect")[0]; !strings.Contains(string(m.Data), `"reason":"token expired"`) {
		t.Errorf("expiry: %s", m.Data)
	}
}

func TestAcknowledgeByRole(t *testing.T) {
	var acked []string
	f := newFixture(t, hub.Options{}, Options{Acknowledge: func(_ context.Context, id, actor string) (crowd.Alert, error) {
		if id == "al_missing" {
			return crowd.Alert{}, crowd.Errorf(crowd.ErrNotFound, "no alert %s", id)
		}
		if id == "al_broken" {
			return crowd.Alert{}, errors.New("disk on fire")
		}
		acked = append(acked, id+" by "+actor)
		return crowd.Alert{ID: id, Status: crowd.StatusAcknowledged, AcknowledgedBy: actor}, nil
	}})
	op := mustDial(t, f.url(""), http.Header{"X-Test-Role": {"operator"}})
	op.expect("connected")
	cases := []struct {
		req  any
		code string
	}{
		{map[string]string{"op": "acknowledge", "id": "al_1", "requestId": "r1"}, ""},
		{map[string]string{"op": "acknowledge", "id": "al_missing", "requestId": "r2"}, crowd.ErrNotFound},
		{map[string]string{"op": "acknowledge", "id": "al_broken", "requestId": "r3"}, crowd.ErrInternal},
		{map[string]string{"op": "acknowledge", "id": "", "requestId": "r4"}, crowd.ErrInvalid},
		{map[string]string{"op": "explode", "requestId": "r5"}, crowd.ErrInvalid},
		{map[string]any{"op": "acknowledge", "id": "al_1", "requestId": "r6", "extra": 1}, crowd.ErrInvalid},
		{"not an object", crowd.ErrInvalid},
	}
	for i, tc := range cases {
		op.send(tc.req)
		m := op.expect("reply")[0]
		switch {
		case tc.code == "" && (!m.OK || !strings.Contains(string(m.Data), `"acknowledgedBy":"tester-operator"`)):
			t.Errorf("case %d: %+v %s", i, m, m.Data)
		case tc.code != "" && (m.OK || m.Error == nil || m.Error.Code != tc.code):
			t.Errorf("case %d: %+v, want error %s", i, m, tc.code)
		}
		if want, _ := tc.req.(map[string]string); want != nil && m.RequestID != want["requestId"] {
			t.Errorf("case %d: requestId %q", i, m.RequestID)
		}
	}
	viewer := mustDial(t, f.url(""), http.Header{"X-Test-Role": {"viewer"}})
	viewer.expect("connected")
	viewer.send(map[string]string{"op": "acknowledge", "id": "al_1", "requestId": "v1"})
	if m := viewer.expect("reply")[0]; m.OK || m.Error == nil || m.Error.Code != crowd.ErrForbidden || m.RequestID != "v1" {
		t.Errorf("viewer: %+v", m)
	}
	if len(acked) != 1 || acked[0] != "al_1 by tester-operator" {
		t.Errorf("acknowledged %v", acked)
	}
}

func TestClientMessageLimits(t *testing.T) {
	f := newFixture(t, hub.Options{}, Options{MaxMessageBytes: 256, MessageRate: 0.001, MessageBurst: 2})
	c := mustDial(t, f.url(""), http.Header{"X-Test-Role": {"viewer"}})
	c.expect("connected")
	for i := range 3 {
		c.send(map[string]string{"op": "noop", "requestId": string(rune('a' + i))})
	}
	ms := c.expect("reply", "reply", "reply")
	if ms[0].Error.Code != crowd.ErrInvalid || ms[1].Error.Code != crowd.ErrInvalid {
		t.Errorf("within the burst: %+v %+v", ms[0].Error, ms[1].Error)
	}
	if ms[2].Error == nil || ms[2].Error.Code != crowd.ErrRateLimited || ms[2].RequestID != "c" {
		t.Errorf("over the rate: %+v", ms[2])
	}
	c.send(map[string]string{"op": strings.Repeat("x", 300)})
	_, err := c.read(5 * time.Second)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("an oversized message: %v, want close 1009", err)
	}
	f.waitSubscribers(0)
}
