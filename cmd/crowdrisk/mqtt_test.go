package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestMQTTIngestThroughTheBinary: `crowdrisk replay --mqtt` publishes a
// recorded experiment to a real mosquitto, and the real engine, started
// with --mqtt, takes it in: the zone's readings, /readyz and /metrics say
// so. Then the broker is killed and brought back: the engine stays ready
// (it still serves the screens), says the broker is gone, and reconnects.
func TestMQTTIngestThroughTheBinary(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMaxInflight(1000))
	p := start(t, freeAddr(t), t.TempDir(), "--simulate=false", "--venue", "../../examples/corridor.json",
		"--mqtt", b.URL(), "--mqtt-client-id", "binary-test")
	waitReady(t, p, "connected")

	out, err := exec.Command(binary, "replay", "../../internal/replay/testdata/uo-180-180-120.txt",
		"--zone", "corridor", "--speed", "0", "--hold", "10s", "--mqtt", b.URL(), "--mqtt-topic", "crowdrisk/readings/corridor").CombinedOutput()
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "to topic crowdrisk/readings/corridor") {
		t.Errorf("replay said %s", out)
	}
	sent := strings.Fields(string(out[strings.Index(string(out), "sent "):]))[1]
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := metricsText(t, p)
		if strings.Contains(m, "crowdrisk_mqtt_readings_total "+sent+"\n") && strings.Contains(m, "crowdrisk_mqtt_connected 1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s readings:\n%s\n%s", sent, grepLines(m, "crowdrisk_mqtt"), p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var latest []struct {
		ZoneID string `json:"zoneId"`
		NoData bool   `json:"noData"`
	}
	p.getJSON(t, "/api/crowd-risk/density", &latest)
	if len(latest) != 1 || latest[0].ZoneID != "corridor" || latest[0].NoData {
		t.Errorf("density %+v", latest)
	}

	b.Kill()
	waitReady(t, p, "connecting: ")
	b.Start()
	waitReady(t, p, "connected")
	if m := metricsText(t, p); !strings.Contains(m, "crowdrisk_mqtt_reconnects_total 1\n") {
		t.Errorf("metrics after the reconnection:\n%s", grepLines(m, "crowdrisk_mqtt"))
	}
}

// waitReady waits until /readyz answers 200 with an "mqtt" detail that
// starts with want (the broker's state never makes the engine unready).
func waitReady(t *testing.T, p *proc, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			last = resp.Status + " " + strings.TrimSpace(toJSON(body))
			if s, _ := body["mqtt"].(string); resp.StatusCode == 200 && strings.HasPrefix(s, want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz never showed mqtt %q; last: %s", want, last)
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func metricsText(t *testing.T, p *proc) string {
	t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
