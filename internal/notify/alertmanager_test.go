package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// fakeAlertmanager takes POST /api/v2/alerts as Alertmanager does and keeps
// every request's alerts.
type fakeAlertmanager struct {
	*httptest.Server
	mu   sync.Mutex
	sent [][]amAlert
}

func newAlertmanager(t *testing.T) *fakeAlertmanager {
	am := &fakeAlertmanager{}
	am.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "not the alerts API", http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var alerts []amAlert
		dec := json.NewDecoder(bytesReader(b))
		dec.DisallowUnknownFields() // only fields of Alertmanager's postableAlert
		if err := dec.Decode(&alerts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		am.mu.Lock()
		am.sent = append(am.sent, alerts)
		am.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(am.Close)
	return am
}

func (am *fakeAlertmanager) requests() [][]amAlert {
	am.mu.Lock()
	defer am.mu.Unlock()
	return append([][]amAlert(nil), am.sent...)
}

func TestAlertmanagerPayloadAndResend(t *testing.T) {
	r := openRig(t, "", time.Now)
	am := newAlertmanager(t)
	opts := fastOptions(r, Receiver{Name: "am", Type: TypeAlertmanager, URL: am.URL + "/"})
	opts.DashboardURL = "http://crowdrisk.example/admin/crowd-risk/monitor"
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := n.Init(ctx); err != nil {
		t.Fatal(err)
	}
	a := r.raise(t, "gate-a", crowd.Emergency)
	b := r.raise(t, "gate-b", crowd.Warning)
	if _, err := r.eng.Acknowledge(ctx, b.ID, "op"); err != nil {
		t.Fatal(err)
	}
	n.Step(ctx)
	n.deliverDue(ctx, n.receivers[0])
	reqs := am.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests; want 3", len(reqs))
	}
	first := reqs[0][0]
	want := map[string]string{"alertname": "CrowdRisk", "alert_id": a.ID, "zone": "gate-a", "level": "emergency",
		"kind": "test", "severity": "critical"}
	for k, v := range want {
		if first.Labels[k] != v {
			t.Errorf("label %s = %q; want %q", k, first.Labels[k], v)
		}
	}
	if first.Annotations["message"] != a.Message || first.EndsAt != "" ||
		first.GeneratorURL != opts.DashboardURL+"?alert="+a.ID {
		t.Errorf("firing alert %+v", first)
	}
	if st, err := time.Parse(time.RFC3339Nano, first.StartsAt); err != nil || st.UnixMilli() != a.Timestamp {
		t.Errorf("startsAt %q; want the alert's timestamp %d", first.StartsAt, a.Timestamp)
	}
	// b in order: firing, then resolved with an endsAt.
	if reqs[1][0].Labels["alert_id"] != b.ID || reqs[1][0].EndsAt != "" {
		t.Errorf("b firing: %+v", reqs[1])
	}
	if res := reqs[2][0]; res.Labels["alert_id"] != b.ID || res.EndsAt == "" || res.Labels["severity"] != "warning" {
		t.Errorf("b resolved: %+v", reqs[2])
	}
	// The periodic resend sends the open alert (only a) again, firing.
	n.resend(ctx)
	reqs = am.requests()
	if len(reqs) != 4 || len(reqs[3]) != 1 || reqs[3][0].Labels["alert_id"] != a.ID || reqs[3][0].EndsAt != "" {
		t.Fatalf("resend: %+v", reqs[len(reqs)-1])
	}
}

// A level change resolves the alert under its old level label.
func TestAlertmanagerLevelChange(t *testing.T) {
	prev := crowd.Warning
	a := crowd.Alert{ID: "al_1", ZoneID: "z", Level: crowd.Critical, Kind: crowd.KindDensity, Status: crowd.StatusActive, Timestamp: 1}
	out := amAlerts(a, &prev, nil, "", time.Unix(100, 0))
	if len(out) != 2 || out[0].Labels["level"] != "warning" || out[0].EndsAt == "" || out[1].Labels["level"] != "critical" || out[1].EndsAt != "" {
		t.Fatalf("%+v", out)
	}
}
