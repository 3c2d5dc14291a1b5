package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/notify"
)

// hookServer is a real receiver; failing makes it answer 500.
type hookServer struct {
	*httptest.Server
	mu      sync.Mutex
	failing bool
	got     []notify.Payload
	bad     int // requests whose signature did not verify
}

func newHookServer(t *testing.T, secret []byte) *hookServer {
	h := &hookServer{failing: true}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.failing {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		var p notify.Payload
		if !notify.Verify(secret, body, r.Header.Get(notify.HeaderSignature)) || json.Unmarshal(body, &p) != nil {
			h.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.got = append(h.got, p)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) setFailing(f bool) { h.mu.Lock(); h.failing = f; h.mu.Unlock() }

// changes returns the changes per alert, each delivery id once.
func (h *hookServer) changes() map[string][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	out := map[string][]string{}
	for _, p := range h.got {
		if seen[p.DeliveryID] {
			continue
		}
		seen[p.DeliveryID] = true
		var a struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(p.Alert, &a)
		out[a.ID] = append(out[a.ID], p.Change)
	}
	return out
}

// Through the real binary: changes made while the receiver is down are
// kept across a restart of the engine and all arrive, signed and in order,
// once it is back; an unacknowledged critical alert is escalated and the
// incident log says so; the status endpoint and the metrics show it.
func TestBinaryWebhooksSurviveARestart(t *testing.T) {
	secret := "binary-test-webhook-secret-0123456789"
	t.Setenv("CROWDRISK_WEBHOOK_SECRET", secret)
	ops, pager := newHookServer(t, []byte(secret)), newHookServer(t, []byte(secret))
	pager.setFailing(false)
	dir := t.TempDir()
	file := filepath.Join(dir, "webhooks.json")
	if err := os.WriteFile(file, []byte(`{"receivers":[{"name":"pager","url":"`+pager.URL+`","escalation":true,"minLevel":"critical"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--simulate=false", "--webhook", ops.URL, "--webhooks", file, "--escalate-critical", "2s",
		"--webhook-timeout", "1s"}
	addr := freeAddr(t)
	p := start(t, addr, dir, args...)
	raise := func(p *proc, zone, level string) string {
		id, _ := testAlert(t, p, zone, level)
		return id
	}
	crit := raise(p, "gate-a", "critical")
	warn := raise(p, "gate-b", "warning")
	if code, body := p.post(t, "/api/crowd-risk/alerts/"+warn+"/acknowledge", nil); code != 200 {
		t.Fatalf("acknowledge: %d %s", code, body)
	}
	// The escalation reaches the pager while ops is down.
	deadline := time.Now().Add(15 * time.Second)
	for len(pager.changes()[crit]) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no escalation:\n%s", p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var st notify.Status
	deadline = time.Now().Add(10 * time.Second)
	for {
		p.getJSON(t, "/api/crowd-risk/notifications/status", &st)
		if len(st.Receivers) == 2 && st.Receivers[0].Pending == 3 && st.Receivers[0].Failing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v; want ops with 3 pending and failing", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`crowdrisk_webhook_deliveries_total{outcome="failed",receiver="` + ops.URL + `"}`,
		`crowdrisk_webhook_queue_depth{receiver="` + ops.URL + `"} 3`, `crowdrisk_escalations_total{level="critical"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	p.stop(t)

	ops.setFailing(false)
	p = start(t, addr, dir, args...)
	later := raise(p, "fan-zone", "watch")
	deadline = time.Now().Add(20 * time.Second)
	for {
		got := ops.changes()
		if len(got[crit]) == 1 && len(got[warn]) == 2 && len(got[later]) == 1 {
			if got[warn][0] != "raise" || got[warn][1] != "resolve" {
				t.Fatalf("warning alert changes %v; want raise, resolve", got[warn])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart ops got %v:\n%s", got, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ops.bad+pager.bad != 0 {
		t.Fatalf("%d requests failed the signature check", ops.bad+pager.bad)
	}
	var incidents []struct {
		AlertID string `json:"alertId"`
		Actor   string `json:"actor"`
		Message string `json:"message"`
	}
	p.getJSON(t, "/api/crowd-risk/incidents", &incidents)
	found := false
	for _, in := range incidents {
		found = found || (in.AlertID == crit && in.Actor == "notifier" && strings.Contains(in.Message, "escalated to pager"))
	}
	if !found {
		t.Fatalf("no escalation in the incident log: %+v", incidents)
	}
}

// Webhooks without a secret refuse to start, in one line, unless unsigned
// delivery is asked for.
func TestBinaryWebhooksNeedASecret(t *testing.T) {
	cmd := exec.Command(binary, "--addr", freeAddr(t), "--data-dir", t.TempDir(), "--webhook", "http://127.0.0.1:9/hook")
	cmd.Env = append(os.Environ(), "CROWDRISK_WEBHOOK_SECRET=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "CROWDRISK_WEBHOOK_SECRET") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Fatalf("err %v, output %q; want one line naming the secret", err, out)
	}
}
