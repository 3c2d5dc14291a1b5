package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sync"
	"time"
)

// op is one operator request and what it got: a 2xx is a promise the
// checker holds the engine to.
type op struct {
	Kind     string // ack, emergency-on, emergency-off, test-alert
	Instance string
	Arg      string // alert id, reason or message
	Start    time.Time
	End      time.Time
	Status   int // 0: no answer (connection refused, reset, timeout)
	Body     string
	Err      string
}

func (o op) ok() bool { return o.Status >= 200 && o.Status < 300 }

// workload drives the instances: sensors and operators, on loopback only,
// until ctx ends.
type workload struct {
	bases  []string
	seed   int64
	client *http.Client
	mu     sync.Mutex
	ops    []op
	burstN int
	// inflight are the requests of bursts, which may hang on a paused
	// instance; the campaign waits for them before it judges.
	inflight sync.WaitGroup
	reading  map[string]int // status of posted readings, counted
}

func newWorkload(bases []string, seed int64) *workload {
	return &workload{bases: bases, seed: seed, reading: map[string]int{},
		client: &http.Client{Timeout: 8 * time.Second}}
}

func (w *workload) do(method, url string, body any) (int, string, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b), nil
}

// profile is a sensor's density over time: high for a while (driving its
// zone into critical or emergency so that alerts and emergency mode come
// from the rules themselves), then calm, on a cycle.
type profile struct {
	zone, sensor string
	high, low    float64
	period       time.Duration
}

var profiles = []profile{
	{"gate-a", "", 4.6, 0.4, 24 * time.Second},              // emergency (moving: 4.0)
	{"gate-b", "", 3.4, 0.5, 30 * time.Second},              // critical (3.0), dwell 10 s
	{"stairs-station", "cam-1", 2.9, 0.3, 28 * time.Second}, // critical (2.4)
	{"stairs-station", "cam-2", 2.8, 0.3, 28 * time.Second},
	{"fan-zone", "cam-1", 5.0, 1.0, 36 * time.Second}, // critical (4.7)
	{"fan-zone", "cam-2", 1.2, 1.0, 36 * time.Second},
	{"fan-zone", "cam-3", 5.1, 1.0, 36 * time.Second},
	{"ramp-west", "", 0.6, 0.2, 20 * time.Second},
}

func (w *workload) sensor(ctx context.Context, i int, p profile) {
	rng := rand.New(rand.NewSource(w.seed*101 + int64(i)))
	offset := time.Duration(rng.Int63n(int64(p.period)))
	t0 := time.Now()
	for ctx.Err() == nil {
		phase := (time.Since(t0) + offset) % p.period
		d := p.low
		if phase < p.period/2 {
			d = p.high
		}
		d += rng.Float64()*0.2 - 0.1
		body := map[string]any{"zoneId": p.zone, "density": round2(d)}
		if p.sensor != "" {
			body["sensorId"] = p.sensor
		}
		code, _, err := w.do(http.MethodPost, w.bases[rng.Intn(len(w.bases))]+"/api/crowd-risk/readings", body)
		key := fmt.Sprint(code)
		if err != nil {
			key = "no answer"
		}
		w.mu.Lock()
		w.reading[key]++
		w.mu.Unlock()
		sleep(ctx, 300*time.Millisecond+time.Duration(rng.Int63n(int64(200*time.Millisecond))))
	}
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

var drillZones = []string{"gate-a", "gate-b", "concourse-north", "pitch-front", "stand-east"}
var drillLevels = []string{"watch", "warning", "critical"}

// operator acknowledges alerts, switches emergency mode on and off and
// raises test alerts, each on a random instance. Reasons and messages are
// unique, so the checker can find each one in the store and on the wire.
func (w *workload) operator(ctx context.Context, i int) {
	rng := rand.New(rand.NewSource(w.seed*977 + int64(i)))
	for n := 1; ctx.Err() == nil; n++ {
		sleep(ctx, 600*time.Millisecond+time.Duration(rng.Int63n(int64(900*time.Millisecond))))
		if ctx.Err() != nil {
			return
		}
		base := w.bases[rng.Intn(len(w.bases))]
		o := op{Instance: base}
		var method, path string
		var body any
		switch x := rng.Intn(100); {
		case x < 40:
			id := w.openAlert(base, rng)
			if id == "" {
				continue
			}
			o.Kind, o.Arg = "ack", id
			method, path = http.MethodPost, "/api/crowd-risk/alerts/"+id+"/acknowledge"
		case x < 70:
			o.Kind, o.Arg = "test-alert", fmt.Sprintf("chaos drill %d-%d-%d", w.seed, i, n)
			method, path = http.MethodPost, "/api/crowd-risk/testing/alert"
			body = map[string]string{"zoneId": drillZones[rng.Intn(len(drillZones))],
				"level": drillLevels[rng.Intn(len(drillLevels))], "message": o.Arg}
		case x < 85:
			o.Kind, o.Arg = "emergency-on", fmt.Sprintf("chaos emergency %d-%d-%d", w.seed, i, n)
			method, path = http.MethodPost, "/api/crowd-risk/emergency"
			body = map[string]any{"reason": o.Arg, "zoneIds": []string{drillZones[rng.Intn(len(drillZones))]}}
		default:
			o.Kind = "emergency-off"
			method, path = http.MethodDelete, "/api/crowd-risk/emergency"
		}
		o.Start = time.Now()
		code, resp, err := w.do(method, base+path, body)
		o.End, o.Status, o.Body = time.Now(), code, resp
		if err != nil {
			o.Err = err.Error()
		}
		w.mu.Lock()
		w.ops = append(w.ops, o)
		w.mu.Unlock()
	}
}

// burst fires n test alerts at once at the given instances, without
// waiting: the injector strikes while they are in flight, so that a fault
// lands inside a commit or between executing a forwarded command and
// recording it, where the bugs live.
func (w *workload) burst(targets []string, n int) {
	w.mu.Lock()
	w.burstN++
	b := w.burstN
	w.mu.Unlock()
	for k := 0; k < n; k++ {
		base := targets[k%len(targets)]
		msg := fmt.Sprintf("chaos burst %d-%d-%d", w.seed, b, k)
		w.inflight.Add(1)
		go func() {
			defer w.inflight.Done()
			o := op{Kind: "test-alert", Instance: base, Arg: msg, Start: time.Now()}
			code, resp, err := w.do(http.MethodPost, base+"/api/crowd-risk/testing/alert",
				map[string]string{"zoneId": "gate-b", "level": "warning", "message": msg})
			o.End, o.Status, o.Body = time.Now(), code, resp
			if err != nil {
				o.Err = err.Error()
			}
			w.mu.Lock()
			w.ops = append(w.ops, o)
			w.mu.Unlock()
		}()
	}
}

// openAlert picks an active alert to acknowledge, as an operator would
// from the list on the screen.
func (w *workload) openAlert(base string, rng *rand.Rand) string {
	code, body, err := w.do(http.MethodGet, base+"/api/crowd-risk/alerts?status=active&limit=100", nil)
	if err != nil || code != 200 {
		return ""
	}
	var list []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(body), &list) != nil || len(list) == 0 {
		return ""
	}
	return list[rng.Intn(len(list))].ID
}
