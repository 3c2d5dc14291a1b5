package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

func testVenue() crowd.Venue {
	return crowd.Venue{Name: "Test Arena", Zones: []crowd.Zone{
		crowd.Zone{ID: "north-stand", Name: "North stand", Kind: crowd.Standing, AreaM2: 100, Capacity: 400}.WithDefaults(),
		crowd.Zone{ID: "gate-a", Name: "Gate A", Kind: crowd.Moving, AreaM2: 20, Capacity: 60}.WithDefaults(),
	}}
}

type dropPublisher struct{}

func (dropPublisher) Publish(...*event.Event) {}

// testEngine is the real engine on a temporary SQLite file. It records
// what it accepted and can be told to be unavailable (as a cluster node
// without a leader is) or to hold a batch, the faults the subscriber must
// survive; the rules themselves are the engine's.
type testEngine struct {
	*engine.Engine
	mu       sync.Mutex
	sensors  map[string]int // accepted readings per sensor id
	accepted atomic.Int64
	calls    atomic.Int64
	down     atomic.Bool
	hold     chan struct{} // when set, Ingest waits for it
}

func newTestEngine(t testing.TB) *testEngine {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e, err := engine.New(ctx, engine.Options{Venue: testVenue(), Store: s, Publisher: dropPublisher{},
		Sequencer: event.NewSequencer(0, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return &testEngine{Engine: e, sensors: map[string]int{}}
}

func (e *testEngine) Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error) {
	e.calls.Add(1)
	e.mu.Lock()
	hold := e.hold
	e.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if e.down.Load() {
		return nil, crowd.Errorf(crowd.ErrUnavailable, "no leader (test)")
	}
	out, err := e.Engine.Ingest(ctx, in)
	if err == nil {
		e.mu.Lock()
		for _, r := range in {
			e.sensors[r.SensorID]++
		}
		e.mu.Unlock()
		e.accepted.Add(int64(len(in)))
	}
	return out, err
}

func (e *testEngine) count(sensor string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sensors[sensor]
}

type testObserver struct {
	connected                                   atomic.Bool
	accepted, invalid, retried, readings, deads atomic.Int64
	duplicates                                  atomic.Int64
	reconnects                                  atomic.Int64
}

func (o *testObserver) MQTTConnected(c bool) { o.connected.Store(c) }
func (o *testObserver) MQTTMessages(r string, n int) {
	switch r {
	case ResultAccepted:
		o.accepted.Add(int64(n))
	case ResultInvalid:
		o.invalid.Add(int64(n))
	case ResultRetried:
		o.retried.Add(int64(n))
	case ResultDuplicate:
		o.duplicates.Add(int64(n))
	}
}
func (o *testObserver) MQTTReadings(n int)    { o.readings.Add(int64(n)) }
func (o *testObserver) MQTTDeadLetters(n int) { o.deads.Add(int64(n)) }
func (o *testObserver) MQTTReconnect()        { o.reconnects.Add(1) }

// running is a subscriber started by a test.
type running struct {
	*Subscriber
	obs    *testObserver
	log    *testenv.SyncBuffer
	cancel context.CancelFunc
	done   chan struct{}
}

// stop ends the subscriber as the app does at shutdown and waits for it.
func (r *running) stop() {
	r.cancel()
	<-r.done
}

func startSubscriber(t testing.TB, b *testenv.MosquittoServer, clientID string, eng Ingester, mod ...func(*Options)) *running {
	t.Helper()
	r := &running{obs: &testObserver{}, log: &testenv.SyncBuffer{}, done: make(chan struct{})}
	opts := Options{Broker: Broker{URL: b.URL(), ClientID: clientID}, Engine: eng, Observer: r.obs,
		Logger:   slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond}
	for _, m := range mod {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r.Subscriber = s
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { defer close(r.done); s.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) waitConnected(t testing.TB) {
	t.Helper()
	waitFor(t, 10*time.Second, func() bool { return r.Connected() }, func() string { return r.Status() + "\n" + r.log.String() })
}

func waitFor(t testing.TB, timeout time.Duration, ok func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", timeout, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dial(t *testing.T, b *testenv.MosquittoServer) *Publisher {
	t.Helper()
	p, err := Dial(context.Background(), Broker{URL: b.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func publish(t *testing.T, p *Publisher, topic string, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.PublishWait(ctx, topic, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}

func reading(zone, sensor string, density float64, ts int64) string {
	s := fmt.Sprintf(`{"zoneId":%q,"density":%g`, zone, density)
	if sensor != "" {
		s += fmt.Sprintf(`,"sensorId":%q`, sensor)
	}
	if ts != 0 {
		s += fmt.Sprintf(`,"timestamp":%d`, ts)
	}
	return s + "}"
}

// deadLetters subscribes to the dead-letter topic and collects what comes.
type deadLetters struct {
	mu  sync.Mutex
	got []DeadLetter
}

func subscribeDeadLetters(t *testing.T, b *testenv.MosquittoServer) *deadLetters {
	t.Helper()
	d := &deadLetters{}
	addr, _ := Broker{URL: b.URL()}.parse()
	c := paho.NewClient(addr.clientOptions(fmt.Sprintf("dl-%d", time.Now().UnixNano())).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("dead-letter subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(DefaultDeadLetterTopic, 1, func(_ paho.Client, m paho.Message) {
		var dl DeadLetter
		dec := json.NewDecoder(bytes.NewReader(m.Payload()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&dl); err != nil {
			dl.Topic = "UNDECODABLE: " + err.Error()
		}
		d.mu.Lock()
		d.got = append(d.got, dl)
		d.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("dead-letter subscribe: %v", tok.Error())
	}
	return d
}

func (d *deadLetters) all() []DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]DeadLetter(nil), d.got...)
}

func (d *deadLetters) len() int { return len(d.all()) }

func countLines(log, substr string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// publishBurst publishes n one-reading messages for north-stand from four
// sensors, timestamps a minute ago onwards, as fast as the client sends
// them, and waits until the broker has them all.
func publishBurst(t testing.TB, p *Publisher, n int) {
	t.Helper()
	base := time.Now().UnixMilli() - 60_000
	toks := make([]paho.Token, 0, n)
	for i := range n {
		toks = append(toks, p.Publish("crowdrisk/readings/n", []byte(reading("north-stand", fmt.Sprintf("s-%d", i%4), 1, base+int64(i)))))
	}
	for _, tok := range toks {
		tok.Wait()
	}
}
