package mqtt

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testcert"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestReadingsArriveFromMosquittoPub: an object and an array, sent by the
// broker's own command-line client, reach the engine, and are counted.
func TestReadingsArriveFromMosquittoPub(t *testing.T) {
	b := testenv.Mosquitto(t)
	eng := newTestEngine(t)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	pub, err := testenv.MosquittoPub()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for _, msg := range []string{
		reading("north-stand", "cam-1", 1.5, now),
		"[" + reading("north-stand", "cam-2", 1.7, now) + "," + reading("gate-a", "cam-3", 0.4, now) + "]",
	} {
		cmd := exec.Command(pub, "-h", "127.0.0.1", "-p", fmt.Sprint(b.Port()), "-q", "1",
			"-t", "crowdrisk/readings/north", "-m", msg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, out)
		}
	}
	waitFor(t, 10*time.Second, func() bool { return eng.accepted.Load() == 3 },
		func() string { return fmt.Sprint("accepted ", eng.accepted.Load(), "\n", sub.log.String()) })
	waitFor(t, 5*time.Second, func() bool { return sub.obs.accepted.Load() == 2 && sub.obs.readings.Load() == 3 },
		func() string { return fmt.Sprint(sub.obs.accepted.Load(), sub.obs.readings.Load()) })
	var zones []string
	for _, r := range eng.Latest() {
		if !r.NoData {
			zones = append(zones, r.ZoneID)
		}
	}
	if len(zones) != 2 {
		t.Errorf("zones with data: %v, want north-stand and gate-a", zones)
	}
}

// TestPersistentSessionSurvivesEngineAndBrokerRestart: the engine is
// stopped, readings are published, the broker itself is restarted, and an
// engine that comes back with the same client id gets every one of them.
func TestPersistentSessionSurvivesEngineAndBrokerRestart(t *testing.T) {
	b := testenv.Mosquitto(t)
	eng := newTestEngine(t)
	first := startSubscriber(t, b, "engine-1", eng)
	first.waitConnected(t)
	first.stop()

	p := dial(t, b)
	base := time.Now().UnixMilli() - 60_000
	for i := range 50 {
		publish(t, p, "crowdrisk/readings/n", reading("north-stand", "cam-1", 1, base+int64(i)*100))
	}
	p.Close()
	b.Stop() // SIGTERM: mosquitto saves the queued messages
	b.Start()

	second := startSubscriber(t, b, "engine-1", eng)
	waitFor(t, 15*time.Second, func() bool { return eng.count("cam-1") == 50 },
		func() string { return fmt.Sprint("got ", eng.count("cam-1"), "\n", second.log.String(), b.Log()) })
	// Nothing more comes: they were acknowledged once.
	time.Sleep(300 * time.Millisecond)
	if n := eng.count("cam-1"); n != 50 {
		t.Errorf("readings %d, want 50", n)
	}
}

// TestBrokerRestartReconnects: the broker is killed under a running
// subscriber; the state says so, the subscriber comes back by itself when
// the broker does, and later readings arrive.
func TestBrokerRestartReconnects(t *testing.T) {
	b := testenv.Mosquitto(t)
	eng := newTestEngine(t)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	p := dial(t, b)
	now := time.Now().UnixMilli()
	publish(t, p, "crowdrisk/readings/n", reading("north-stand", "cam-1", 1, now-5000))
	waitFor(t, 10*time.Second, func() bool { return eng.count("cam-1") == 1 }, func() string { return sub.log.String() })

	b.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.HasPrefix(sub.Status(), "connecting: ") },
		func() string { return sub.Status() })
	if sub.obs.connected.Load() {
		t.Error("the connected gauge still says connected")
	}
	time.Sleep(300 * time.Millisecond) // a few failed attempts
	if !strings.Contains(sub.Status(), "connect") {
		t.Errorf("status while the broker is down: %q", sub.Status())
	}
	b.Start()
	sub.waitConnected(t)
	if sub.obs.reconnects.Load() < 1 || !sub.obs.connected.Load() {
		t.Errorf("reconnects %d connected %v", sub.obs.reconnects.Load(), sub.obs.connected.Load())
	}
	p2 := dial(t, b)
	publish(t, p2, "crowdrisk/readings/n", reading("north-stand", "cam-1", 1, now-4000))
	waitFor(t, 10*time.Second, func() bool { return eng.count("cam-1") == 2 }, func() string { return sub.log.String() })
	if !strings.Contains(sub.log.String(), "connection lost") {
		t.Errorf("no log line about the lost connection:\n%s", sub.log.String())
	}
}

// TestFloodOfBadMessages: 10,000 refused messages from ten sensors, with
// good ones in between. Every bad one is counted and dead-lettered, the log
// has one line per sensor (per minute), and every good one is ingested.
func TestFloodOfBadMessages(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMaxInflight(1000))
	eng := newTestEngine(t)
	dl := subscribeDeadLetters(t, b)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	p := dial(t, b)
	base := time.Now().UnixMilli() - 60_000
	const bad, every = 10000, 100
	good := 0
	for i := range bad {
		// Negative densities from sensors bad-0..bad-9, and undecodable ones.
		payload := reading("north-stand", fmt.Sprintf("bad-%d", i%10), -1, 0)
		if i%1000 == 0 {
			payload = `{"zoneId": "north-stand", "density": 1` // truncated
		}
		p.Publish("crowdrisk/readings/n", []byte(payload))
		if i%every == 0 {
			p.Publish("crowdrisk/readings/n", []byte(reading("gate-a", "good", 0.5, base+int64(good)*10)))
			good++
		}
	}
	publish(t, p, "crowdrisk/readings/n", reading("gate-a", "good", 0.5, base+int64(good)*10))
	good++
	waitFor(t, 60*time.Second, func() bool { return sub.obs.invalid.Load() == bad && eng.count("good") == good },
		func() string {
			return fmt.Sprintf("invalid %d good %d/%d", sub.obs.invalid.Load(), eng.count("good"), good)
		})
	waitFor(t, 30*time.Second, func() bool { return dl.len() == bad },
		func() string { return fmt.Sprintf("dead letters %d", dl.len()) })
	if n := sub.obs.deads.Load(); n != bad {
		t.Errorf("dead letters counted %d, want %d", n, bad)
	}
	var undecodable, negative int
	for _, d := range dl.all() {
		switch {
		case d.Error == nil || d.Topic != "crowdrisk/readings/n" || d.ReceivedAt == 0:
			t.Fatalf("dead letter %+v", d)
		case d.Error.Field == "readings[0].density" && d.Error.Code == crowd.ErrInvalid:
			negative++
		case d.Error.Field == "readings[0]" && strings.Contains(d.Error.Message, "malformed JSON"):
			undecodable++
		default:
			t.Errorf("unexpected dead letter %+v", d)
		}
	}
	if undecodable != 10 || negative != bad-10 {
		t.Errorf("undecodable %d negative %d", undecodable, negative)
	}
	// One line per source within the minute: ten sensors and the topic.
	if n := countLines(sub.log.String(), "message refused"); n != 11 {
		t.Errorf("%d log lines about refused messages, want 11:\n%s", n, sub.log.String())
	}
}

// TestTransientFailureIsNotAcknowledged: while the engine cannot take
// readings they are retried and not acknowledged; an engine stopped in that
// state gets them again from the broker at its next start, and once it
// takes them they are not delivered again.
func TestTransientFailureIsNotAcknowledged(t *testing.T) {
	b := testenv.Mosquitto(t)
	eng := newTestEngine(t)
	eng.down.Store(true)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	p := dial(t, b)
	now := time.Now().UnixMilli()
	publish(t, p, "crowdrisk/readings/n", reading("north-stand", "cam-1", 1, now-1000))
	waitFor(t, 10*time.Second, func() bool { return sub.obs.retried.Load() >= 3 }, func() string { return sub.log.String() })
	if n := countLines(sub.log.String(), "cannot take readings now"); n != 1 {
		t.Errorf("%d log lines about the retries, want 1", n)
	}
	sub.stop()

	eng.down.Store(false)
	again := startSubscriber(t, b, "engine-1", eng)
	waitFor(t, 10*time.Second, func() bool { return eng.count("cam-1") == 1 }, func() string { return again.log.String() })
	again.stop()
	third := startSubscriber(t, b, "engine-1", eng)
	third.waitConnected(t)
	time.Sleep(500 * time.Millisecond)
	if n := eng.count("cam-1"); n != 1 {
		t.Errorf("ingested %d times, want once", n)
	}
}

// TestRecoversWhenTheEngineComesBack: the same, without a restart: the
// retry takes the message as soon as the engine can.
func TestRecoversWhenTheEngineComesBack(t *testing.T) {
	b := testenv.Mosquitto(t)
	eng := newTestEngine(t)
	eng.down.Store(true)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	p := dial(t, b)
	publish(t, p, "crowdrisk/readings/n", reading("north-stand", "cam-1", 1, 0))
	waitFor(t, 10*time.Second, func() bool { return sub.obs.retried.Load() >= 2 }, func() string { return sub.log.String() })
	eng.down.Store(false)
	waitFor(t, 10*time.Second, func() bool { return eng.count("cam-1") == 1 && sub.obs.accepted.Load() == 1 },
		func() string { return sub.log.String() })
}

// TestShutdownFinishesTheBatchInHand: the engine is stopped while a batch
// is inside Ingest; the batch completes and is acknowledged, so the next
// start does not get it again.
func TestShutdownFinishesTheBatchInHand(t *testing.T) {
	b := testenv.Mosquitto(t)
	eng := newTestEngine(t)
	release := make(chan struct{})
	eng.mu.Lock()
	eng.hold = release
	eng.mu.Unlock()
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	p := dial(t, b)
	publish(t, p, "crowdrisk/readings/n", reading("north-stand", "cam-1", 1, time.Now().UnixMilli()-1000))
	waitFor(t, 10*time.Second, func() bool { return eng.calls.Load() == 1 }, func() string { return sub.log.String() })
	sub.cancel()
	time.Sleep(100 * time.Millisecond)
	close(release)
	<-sub.done
	if eng.count("cam-1") != 1 {
		t.Fatalf("the batch in hand was not ingested")
	}
	eng.mu.Lock()
	eng.hold = nil
	eng.mu.Unlock()
	next := startSubscriber(t, b, "engine-1", eng)
	next.waitConnected(t)
	time.Sleep(500 * time.Millisecond)
	if n := eng.count("cam-1"); n != 1 {
		t.Errorf("ingested %d times, want once (the batch was not acknowledged at shutdown)", n)
	}
}

// TestHostileMessages: what a broken or hostile sensor may send. Each is
// dead-lettered with an error naming what is wrong, and ingestion goes on.
func TestHostileMessages(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMaxInflight(1000))
	eng := newTestEngine(t)
	dl := subscribeDeadLetters(t, b)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	p := dial(t, b)
	now := time.Now().UnixMilli()
	var array10k strings.Builder
	array10k.WriteString("[")
	for i := range 10000 {
		if i > 0 {
			array10k.WriteString(",")
		}
		array10k.WriteString(reading("north-stand", fmt.Sprintf("s-%d", i%50), 1.2, now-20_000+int64(i)))
	}
	array10k.WriteString("]")
	huge := `{"zoneId":"north-stand","density":1,"sensorId":"` + strings.Repeat("x", 10<<20) + `"}`
	cases := []struct {
		name, payload string
		code, field   string
	}{
		{"malformed UTF-8", "{\"zoneId\":\"north-stand\",\"density\":1,\"sensorId\":\"cam\xff\xfe\"}", crowd.ErrInvalid, "readings"},
		{"10 MB", huge, crowd.ErrTooLarge, "readings"},
		{"seconds, not milliseconds", reading("north-stand", "cam-s", 1, now/1000), crowd.ErrInvalid, "readings[0].timestamp"},
		{"from the future", reading("north-stand", "cam-f", 1, now+3600_000), crowd.ErrInvalid, "readings[0].timestamp"},
		{"unknown zone", reading("nowhere", "cam-u", 1, now), crowd.ErrInvalid, "readings[0].zoneId"},
		{"unknown field", `{"zoneId":"north-stand","density":1,"dens":2}`, crowd.ErrInvalid, "readings[0].dens"},
		{"empty", ``, crowd.ErrInvalid, ""},
		{"a bad second reading", "[" + reading("north-stand", "c1", 1, now) + "," + reading("north-stand", "c2", -2, now) + "]", crowd.ErrInvalid, "readings[1].density"},
		{"10,001 readings", "[" + array10k.String()[1:len(array10k.String())-1] + "," + reading("north-stand", "x", 1, now) + "]", crowd.ErrTooLarge, "readings"},
	}
	for _, c := range cases {
		publish(t, p, "crowdrisk/readings/"+strings.ReplaceAll(c.name, " ", "-"), c.payload)
	}
	publish(t, p, "crowdrisk/readings/big", array10k.String())
	// A retained reading, published before the engine subscribes again.
	retained := reading("north-stand", "cam-r", 1, 0)
	if tok := p.client.Publish("crowdrisk/readings/retained", 1, true, retained); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	cases = append(cases, struct{ name, payload, code, field string }{"retained", retained, crowd.ErrInvalid, "retain"})
	sub.stop()
	sub = startSubscriber(t, b, "engine-1", eng)
	// 10,000 readings of the big array, and the retained reading once: live
	// (a subscriber gets a new message without the retain flag).
	waitFor(t, 60*time.Second, func() bool { return dl.len() == len(cases) && eng.accepted.Load() == 10001 },
		func() string {
			return fmt.Sprintf("dead letters %d accepted %d\n%s", dl.len(), eng.accepted.Load(), sub.log.String())
		})
	got := map[string]DeadLetter{}
	for _, d := range dl.all() {
		got[strings.TrimPrefix(d.Topic, "crowdrisk/readings/")] = d
	}
	for _, c := range cases {
		d, ok := got[strings.ReplaceAll(c.name, " ", "-")]
		switch {
		case !ok:
			t.Errorf("%s: no dead letter", c.name)
		case d.Error.Code != c.code || d.Error.Field != c.field:
			t.Errorf("%s: error %+v, want %s at %s", c.name, d.Error, c.code, c.field)
		case len(d.Payload) > MaxDeadLetterPayload || d.PayloadBytes != len(c.payload) || d.Truncated != (len(c.payload) > MaxDeadLetterPayload):
			t.Errorf("%s: payload of %d bytes (of %d, truncated %v)", c.name, len(d.Payload), d.PayloadBytes, d.Truncated)
		}
	}
	if d := got["seconds,-not-milliseconds"]; d.Error != nil && !strings.Contains(d.Error.Message, "looks like seconds") {
		t.Errorf("seconds: %q", d.Error.Message)
	}
}

// TestBadCredentials: a broker that refuses the password does not stop the
// engine; the log and the status say what is wrong, once, and retrying goes
// on (the password may be fixed on the broker's side).
func TestBadCredentials(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMosquittoUser("engine", "right"))
	eng := newTestEngine(t)
	url := strings.Replace(b.URL(), "mqtt://", "mqtt://engine:wrong@", 1)
	sub := startSubscriber(t, b, "engine-1", eng, func(o *Options) { o.Broker.URL = url })
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(sub.Status(), "refused") },
		func() string { return sub.Status() })
	time.Sleep(500 * time.Millisecond)
	log := sub.log.String()
	if n := countLines(log, "cannot connect"); n != 1 {
		t.Errorf("%d log lines, want 1:\n%s", n, log)
	}
	if strings.Contains(log, "wrong") || strings.Contains(sub.Status(), "wrong") {
		t.Errorf("the password shows:\n%s", log)
	}
	t.Log(sub.Status())

	right := startSubscriber(t, b, "engine-2", eng, func(o *Options) {
		o.Broker.URL = strings.Replace(b.URL(), "mqtt://", "mqtt://engine@", 1)
		o.Broker.Password = "right"
	})
	right.waitConnected(t)
}

// TestTLSBroker: mqtts:// with the broker's authority in CAFile.
func TestTLSBroker(t *testing.T) {
	dir := t.TempDir()
	_, certFile, keyFile := testcert.Write(t, dir)
	b := testenv.Mosquitto(t, testenv.WithMosquittoTLS(certFile, keyFile))
	eng := newTestEngine(t)
	url := "mqtts://" + b.Addr()
	sub := startSubscriber(t, b, "engine-tls", eng, func(o *Options) { o.Broker.URL, o.Broker.CAFile = url, certFile })
	sub.waitConnected(t)
	p, err := Dial(t.Context(), Broker{URL: url, CAFile: certFile})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	publish(t, p, "crowdrisk/readings/tls", reading("gate-a", "cam-t", 0.5, 0))
	waitFor(t, 10*time.Second, func() bool { return eng.count("cam-t") == 1 }, func() string { return sub.log.String() })

	// Without the authority the certificate is refused, and the status says so.
	other := startSubscriber(t, b, "engine-tls-2", eng, func(o *Options) { o.Broker.URL = url })
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(other.Status(), "certificate") },
		func() string { return other.Status() })
}

// TestSharedSubscription: two instances in one share group (what --redis
// makes of the topic) each get some of the messages and, together, each
// message once.
func TestSharedSubscription(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMaxInflight(1000))
	eng := newTestEngine(t)
	shared := func(o *Options) { o.Topic = "$share/crowdrisk/" + DefaultTopic }
	one := startSubscriber(t, b, "engine-1", eng, shared)
	two := startSubscriber(t, b, "engine-2", eng, shared)
	one.waitConnected(t)
	two.waitConnected(t)
	p := dial(t, b)
	const n = 200
	for i := range n {
		publish(t, p, "crowdrisk/readings/n", reading("north-stand", fmt.Sprintf("s-%d", i%10), 1, 0)) // no timestamp: never out of order between instances
	}
	waitFor(t, 10*time.Second, func() bool { return one.obs.readings.Load()+two.obs.readings.Load() == n },
		func() string { return fmt.Sprint(one.obs.readings.Load(), two.obs.readings.Load()) })
	time.Sleep(300 * time.Millisecond)
	if a, c := one.obs.readings.Load(), two.obs.readings.Load(); a+c != n || a == 0 || c == 0 || eng.accepted.Load() != n {
		t.Errorf("instance 1 took %d, instance 2 %d, the engine %d; want %d in all, shared", a, c, eng.accepted.Load(), n)
	}
}

// TestDoorReportRedeliveredIsNotADeadLetter: MQTT is at-least-once, so a
// door's report can come twice. The engine counts it once (409 on the
// second), and the second is acknowledged as a duplicate, not dead-lettered;
// an array that holds an old report beside new readings still is, so those
// never vanish quietly.
func TestDoorReportRedeliveredIsNotADeadLetter(t *testing.T) {
	b := testenv.Mosquitto(t)
	eng := newTestEngine(t)
	dead := subscribeDeadLetters(t, b)
	sub := startSubscriber(t, b, "engine-1", eng)
	sub.waitConnected(t)
	pub := dial(t, b)
	ts := time.Now().UnixMilli()
	door := fmt.Sprintf(`{"zoneId":"gate-a","sensorId":"door-1","in":7,"out":2,"timestamp":%d}`, ts)
	publish(t, pub, "crowdrisk/readings/gate-a/door-1", door)
	publish(t, pub, "crowdrisk/readings/gate-a/door-1", door)
	waitFor(t, 10*time.Second, func() bool { return sub.obs.accepted.Load() == 1 && sub.obs.duplicates.Load() == 1 },
		func() string {
			return fmt.Sprint("accepted ", sub.obs.accepted.Load(), " duplicates ", sub.obs.duplicates.Load(), " invalid ", sub.obs.invalid.Load())
		})
	for _, r := range eng.Latest() {
		if r.ZoneID == "gate-a" && (r.Counters == nil || r.Counters.Persons != 5) {
			t.Errorf("gate-a counters %+v, want a balance of 5 (counted once)", r.Counters)
		}
	}
	publish(t, pub, "crowdrisk/readings/gate-a", "["+door+","+reading("north-stand", "cam-1", 1.2, ts)+"]")
	waitFor(t, 10*time.Second, func() bool { return dead.len() == 1 },
		func() string { return fmt.Sprint("dead letters ", dead.len()) })
	if got := dead.all()[0].Error.Code; got != crowd.ErrConflict {
		t.Errorf("dead letter code %q, want conflict", got)
	}
	if sub.obs.invalid.Load() != 1 || sub.obs.duplicates.Load() != 1 {
		t.Errorf("invalid %d duplicates %d, want 1 and 1", sub.obs.invalid.Load(), sub.obs.duplicates.Load())
	}
}
