package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// binary is the crowdrisk command built once for the tests in this package
// (with the race detector): they run the real program, as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crowdrisk-bin")
	if err != nil {
		panic(err)
	}
	binary, err = testenv.BuildBinary(dir, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	testenv.StopShared() // the cluster tests' PostgreSQL
	os.Exit(code)
}

// proc is one running engine (testenv's harness, shared with e2e), with
// the short names these tests use.
type proc struct {
	*testenv.Process
	cmd  *exec.Cmd
	base string
	out  *testenv.SyncBuffer
	done <-chan struct{}
}

type syncBuffer = testenv.SyncBuffer

func freeAddr(t testing.TB) string { return testenv.FreeAddr(t) }

// start runs the binary (the test's environment passed on, so a test can
// t.Setenv a CROWDRISK_ setting) and waits until /healthz answers.
func start(t testing.TB, addr, dataDir string, args ...string) *proc {
	t.Helper()
	p := testenv.StartProcess(t, binary, testenv.ProcessOptions{Addr: addr, DataDir: dataDir, InheritEnv: true,
		Args: append([]string{"--rate-limit", "100000", "--rate-burst", "100000"}, args...)})
	return &proc{Process: p, cmd: p.Cmd, base: p.Base, out: p.Out, done: p.Done()}
}

func (p *proc) kill() { p.Kill() }

// stop ends the engine with SIGTERM, as an orderly redeploy does.
func (p *proc) stop(t testing.TB) { p.Stop(t) }

func (p *proc) post(t *testing.T, path string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(p.base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (p *proc) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(p.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// testAlert raises a test alert in zone at level on p and returns its id
// and when it was raised (ms).
func testAlert(t *testing.T, p *proc, zone, level string) (id string, at int64) {
	t.Helper()
	code, body := p.post(t, "/api/crowd-risk/testing/alert", map[string]any{"zoneId": zone, "level": level})
	var a struct {
		ID        string
		Timestamp int64
	}
	if code/100 != 2 || json.Unmarshal(body, &a) != nil || a.ID == "" {
		t.Fatalf("test alert: %d %s", code, body)
	}
	return a.ID, a.Timestamp
}

// stream is a client of one SSE endpoint, read with the spec parser.
type stream struct {
	msgs chan sse.Message
	end  chan error
	body io.Closer
}

func openStream(t *testing.T, url string) *stream {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
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
	return s
}

type wireMessage struct {
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
	Resumed bool            `json:"resumed"`
}

type wireAlert struct {
	ID     string `json:"id"`
	ZoneID string `json:"zoneId"`
	Level  string `json:"level"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
}

func decodeMsg(t *testing.T, m sse.Message) wireMessage {
	t.Helper()
	var w wireMessage
	if err := json.Unmarshal([]byte(m.Data), &w); err != nil {
		t.Fatalf("data is not JSON: %q", m.Data)
	}
	return w
}

// until reads messages until cond returns true or the timeout passes.
func (s *stream) until(t *testing.T, timeout time.Duration, cond func(sse.Message) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				t.Fatalf("stream ended: %v", <-s.end)
			}
			if cond(m) {
				return
			}
		case <-deadline:
			t.Fatal("timed out reading the stream")
		}
	}
}

// series builds one reading a second for zone, ending now, from densities.
func series(zone string, densities []float64) []map[string]any {
	end := time.Now().Add(-time.Second).UnixMilli()
	out := make([]map[string]any, len(densities))
	for i, d := range densities {
		out[i] = map[string]any{"zoneId": zone, "density": d, "timestamp": end - int64(len(densities)-1-i)*1000}
	}
	return out
}

func ramp(from, to float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = from + (to-from)*float64(i)/float64(n-1)
	}
	return out
}

func TestBinaryRaisesAlertsAndKeepsThemAcrossRestart(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	p := start(t, addr, dir, "--simulate=false")
	alerts := openStream(t, p.base+"/api/crowd-risk/alert-stream")
	if w := decodeMsg(t, <-alerts.msgs); w.Type != "connected" {
		t.Fatalf("first message %+v", w)
	}
	// A moving zone (gate-a) climbing past warning into critical, in event
	// time: four minutes of readings sent as one batch.
	d := append(ramp(0.5, 3.4, 120), ramp(3.4, 3.4, 120)...)
	if code, body := p.post(t, "/api/crowd-risk/readings", series("gate-a", d)); code != 202 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	levels := map[string]bool{}
	alerts.until(t, 10*time.Second, func(m sse.Message) bool {
		w := decodeMsg(t, m)
		if w.Type == "alert" {
			if !m.HasID {
				t.Fatalf("alert without id: %+v", m)
			}
			var a wireAlert
			json.Unmarshal(w.Data, &a)
			levels[a.Level] = true
		}
		return levels["critical"]
	})
	var before []wireAlert
	p.getJSON(t, "/api/crowd-risk/alerts?status=open", &before)
	if len(before) == 0 {
		t.Fatal("no open alerts")
	}
	p.stop(t)

	q := start(t, addr, dir, "--simulate=false")
	var after []wireAlert
	q.getJSON(t, "/api/crowd-risk/alerts?status=open", &after)
	if fmt.Sprint(ids(after)) != fmt.Sprint(ids(before)) {
		t.Fatalf("open alerts changed across the restart:\n before %v\n after  %v", before, after)
	}
	// A new alert subscriber gets them as its snapshot.
	s := openStream(t, q.base+"/api/crowd-risk/alert-stream")
	seen := map[string]bool{}
	s.until(t, 5*time.Second, func(m sse.Message) bool {
		if w := decodeMsg(t, m); w.Type == "alert" {
			var a wireAlert
			json.Unmarshal(w.Data, &a)
			seen[a.ID] = true
		}
		return len(seen) == len(after)
	})
}

func ids(as []wireAlert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// TestSIGKILLResumeGetsEveryAlertExactlyOnce kills the engine with SIGKILL
// while alerts are being raised, restarts it, and resumes a client from the
// last id it saw: it must receive every committed alert exactly once, in
// order.
func TestSIGKILLResumeGetsEveryAlertExactlyOnce(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	p := start(t, addr, dir, "--simulate=false")
	s := openStream(t, p.base+"/api/crowd-risk/alert-stream")

	received := map[string]int{}
	var order []string
	lastID := ""
	record := func(m sse.Message) {
		if w := decodeMsg(t, m); w.Type == "alert" && m.HasID {
			var a wireAlert
			json.Unmarshal(w.Data, &a)
			received[a.ID]++
			order = append(order, m.ID)
		}
		if m.HasID {
			lastID = m.ID
		}
	}

	// Raise test alerts from another goroutine; SIGKILL mid-way.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); raiseDrills(p.base, 2*time.Second, 0, stop) }()
	// Read some alerts live, then lose the connection (a screen walking out
	// of Wi-Fi range) while alerts keep coming, then SIGKILL the engine: the
	// alerts missed in the gap are only in the store now.
	s.until(t, 10*time.Second, func(m sse.Message) bool { record(m); return len(received) >= 10 })
	s.body.Close()
	for range s.msgs {
	}
	liveBefore := len(received)
	time.Sleep(300 * time.Millisecond)
	p.cmd.Process.Kill()
	<-p.done
	close(stop)
	wg.Wait()
	if lastID == "" {
		t.Fatal("no id seen before the kill")
	}

	q := start(t, addr, dir, "--simulate=false")
	for i := 0; i < 5; i++ { // more alerts after the restart
		if code, body := q.post(t, "/api/crowd-risk/testing/alert", map[string]any{"zoneId": "ramp-west", "level": "watch"}); code != 200 && code != 201 {
			t.Fatalf("test alert: %d %s", code, body)
		}
	}
	var stored []wireAlert
	q.getJSON(t, "/api/crowd-risk/alerts?limit=1000", &stored)

	r := openStream(t, q.base+"/api/crowd-risk/alert-stream?lastEventId="+lastID)
	if w := decodeMsg(t, <-r.msgs); w.Type != "connected" || !w.Resumed {
		t.Fatalf("resume not honoured: %+v", w)
	}
	r.until(t, 10*time.Second, func(m sse.Message) bool { record(m); return len(received) >= len(stored) })
	if len(stored)-liveBefore <= 5 {
		t.Fatalf("the test did not exercise a gap before the kill: %d alerts stored, %d seen live", len(stored), liveBefore)
	}
	for _, a := range stored {
		if received[a.ID] != 1 {
			t.Errorf("alert %s received %d times", a.ID, received[a.ID])
		}
	}
	for i := 1; i < len(order); i++ {
		if !idLess(order[i-1], order[i]) {
			t.Fatalf("ids out of order: %s then %s", order[i-1], order[i])
		}
	}
	if len(received) != len(stored) {
		t.Fatalf("received %d distinct alerts, the store has %d", len(received), len(stored))
	}
}

// raiseDrills raises test alerts on the engine at base, one after another
// (pause between them), until stop is closed.
func raiseDrills(base string, timeout, pause time.Duration, stop <-chan struct{}) {
	client := &http.Client{Timeout: timeout}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		body := strings.NewReader(fmt.Sprintf(`{"zoneId":"gate-a","level":"warning","message":"drill %d"}`, i))
		if resp, err := client.Post(base+"/api/crowd-risk/testing/alert", "application/json", body); err == nil {
			resp.Body.Close()
		}
		time.Sleep(pause)
	}
}

func idLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ami, _ := strconv.ParseInt(am, 10, 64)
	bmi, _ := strconv.ParseInt(bm, 10, 64)
	asi, _ := strconv.ParseInt(as, 10, 64)
	bsi, _ := strconv.ParseInt(bs, 10, 64)
	return ami < bmi || (ami == bmi && asi < bsi)
}

func TestRefusesNonLoopbackWithoutSecret(t *testing.T) {
	out, err := exec.Command(binary, "--addr", "0.0.0.0:0", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "CROWDRISK_JWT_SECRET") {
		t.Fatalf("started on 0.0.0.0 without a secret: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--addr", "0.0.0.0:0", "--data-dir", t.TempDir(), "--insecure", "--simulate=false")
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for !strings.Contains(buf.String(), "--insecure") {
		if ctx.Err() != nil {
			t.Fatalf("--insecure did not warn loudly:\n%s", buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
