package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// readyz is the multi-instance readiness answer.
type readyz struct {
	code   int
	Status string `json:"status"`
	Role   string `json:"role"`
	Store  string `json:"store"`
	Redis  string `json:"redis"`
}

func (p *proc) readyz(t testing.TB) readyz {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(p.base + "/readyz")
	if err != nil {
		return readyz{Status: "down", Role: "none"}
	}
	defer resp.Body.Close()
	var r readyz
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("/readyz is not JSON: %q", b)
	}
	r.code = resp.StatusCode
	return r
}

// startCluster runs n instances of the real binary on one Redis and one
// PostgreSQL database.
func startCluster(t testing.TB, n int, redisURL string) []*proc {
	t.Helper()
	pg := testenv.Postgres(t)
	var ps []*proc
	for i := 0; i < n; i++ {
		ps = append(ps, start(t, freeAddr(t), t.TempDir(), "--simulate=false",
			"--redis", redisURL, "--postgres", pg, "--lease-ttl", "3s"))
	}
	return ps
}

// waitLeader waits until exactly one of ps says it leads.
func waitLeader(t testing.TB, ps []*proc, within time.Duration) *proc {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var leaders []*proc
		for _, p := range ps {
			if p.readyz(t).Role == "leader" {
				leaders = append(leaders, p)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%d instances lead at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no leader within %s", within)
	return nil
}

func TestThreeInstancesOneTruth(t *testing.T) {
	r := testenv.Redis(t)
	ps := startCluster(t, 3, r.URL())
	lead := waitLeader(t, ps, 10*time.Second)
	var followers []*proc
	for _, p := range ps {
		if p != lead {
			followers = append(followers, p)
		}
	}
	in, a, b := followers[0], followers[1], lead

	// A reading posted to one instance reaches the subscribers of the
	// other two, with the same id everywhere.
	sa := openStream(t, a.base+"/api/crowd-risk/density-stream")
	sb := openStream(t, b.base+"/api/crowd-risk/density-stream")
	if code, body := in.post(t, "/api/crowd-risk/readings", series("gate-a", []float64{1.25})); code != 202 {
		t.Fatalf("reading on a follower: %d %s", code, body)
	}
	var ids []string
	for _, s := range []*stream{sa, sb} {
		s.until(t, 10*time.Second, func(m sse.Message) bool {
			w := decodeMsg(t, m)
			if w.Type == "density" && m.HasID && strings.Contains(string(w.Data), `"gate-a"`) &&
				strings.Contains(string(w.Data), `"density":1.25`) {
				ids = append(ids, m.ID)
				return true
			}
			return false
		})
	}
	if ids[0] != ids[1] {
		t.Fatalf("one reading, two ids: %v", ids)
	}

	// A subscriber on the leader sees test alerts raised through the
	// followers; then the leader dies mid-stream.
	s := openStream(t, lead.base+"/api/crowd-risk/alert-stream")
	received := map[string]int{}
	lastID := ""
	record := func(m sse.Message) {
		if w := decodeMsg(t, m); w.Type == "alert" && m.HasID {
			var al wireAlert
			json.Unmarshal(w.Data, &al)
			received[al.ID]++
		}
		if m.HasID {
			lastID = m.ID
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, f := range followers {
		wg.Add(1)
		go func() { defer wg.Done(); raiseDrills(f.base, 10*time.Second, 20*time.Millisecond, stop) }()
	}
	s.until(t, 20*time.Second, func(m sse.Message) bool { record(m); return len(received) >= 10 })
	seenBeforeKill := len(received)
	killed := time.Now()
	lead.kill()
	next := waitLeader(t, followers, 15*time.Second)
	took := time.Since(killed)
	t.Logf("takeover after %s", took.Round(time.Millisecond))
	// The promise (docs/deployment.md): lease TTL plus one renew interval,
	// 4 s with --lease-ttl 3s; a little more for a race-built binary on a
	// shared machine.
	if took > 6*time.Second {
		t.Errorf("takeover took %s, promised about 4 s", took)
	}
	// Alerts keep coming through the new leader.
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	var stored []wireAlert
	next.getJSON(t, "/api/crowd-risk/alerts?limit=1000", &stored)
	other := followers[0]
	if other == next {
		other = followers[1]
	}
	res := openStream(t, other.base+"/api/crowd-risk/alert-stream?lastEventId="+lastID)
	if w := decodeMsg(t, <-res.msgs); w.Type != "connected" || !w.Resumed {
		t.Fatalf("resume on another instance not honoured: %+v", w)
	}
	res.until(t, 20*time.Second, func(m sse.Message) bool { record(m); return len(received) >= len(stored) })
	for _, al := range stored {
		if received[al.ID] != 1 {
			t.Errorf("alert %s received %d times", al.ID, received[al.ID])
		}
	}
	if len(received) != len(stored) {
		t.Fatalf("received %d distinct alerts, the store has %d", len(received), len(stored))
	}
	if len(stored)-seenBeforeKill < 5 {
		t.Fatalf("too few alerts after the kill to exercise the resume: %d stored, %d seen before", len(stored), seenBeforeKill)
	}
}

func TestRedisRestartUnderLoad(t *testing.T) {
	r := testenv.Redis(t, testenv.WithPersistence())
	ps := startCluster(t, 2, r.URL())
	waitLeader(t, ps, 10*time.Second)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, _ := json.Marshal(series("gate-b", []float64{0.5}))
				if resp, err := c.Post(p.base+"/api/crowd-risk/readings", "application/json", strings.NewReader(string(b))); err == nil {
					resp.Body.Close()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(time.Second)

	r.Stop()
	for _, p := range ps {
		deadline := time.Now().Add(10 * time.Second)
		for {
			rz := p.readyz(t)
			if rz.code == 503 && rz.Redis != "ok" && rz.Store == "ok" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz while Redis is down: %+v", rz)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(4 * time.Second) // past the lease: nobody may evaluate now
	for _, p := range ps {
		if rz := p.readyz(t); rz.Role == "leader" {
			t.Fatalf("an instance still evaluates without Redis: %+v", rz)
		}
	}

	r.Start()
	lead := waitLeader(t, ps, 15*time.Second)
	for _, p := range ps {
		deadline := time.Now().Add(10 * time.Second)
		for p.readyz(t).code != 200 {
			if time.Now().After(deadline) {
				t.Fatalf("not ready after Redis came back: %+v\n%s", p.readyz(t), p.out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The stream works again end to end: a reading on one instance reaches
	// the other's subscribers.
	other := ps[0]
	if other == lead {
		other = ps[1]
	}
	s := openStream(t, lead.base+"/api/crowd-risk/density-stream")
	if code, body := other.post(t, "/api/crowd-risk/readings", series("gate-a", []float64{1.75})); code != 202 {
		t.Fatalf("reading after recovery: %d %s", code, body)
	}
	s.until(t, 10*time.Second, func(m sse.Message) bool {
		return m.HasID && strings.Contains(m.Data, `"density":1.75`)
	})
}
