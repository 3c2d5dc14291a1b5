package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crowdrisk/crowdrisk/internal/mqtt"
)

// MQTTConfig is the MQTT ingest benchmark (--mqtt): readings published to a
// broker that a running engine (started with --mqtt) subscribes to, and
// the readings per second the engine accepted, read from its /metrics
// (crowdrisk_mqtt_readings_total).
type MQTTConfig struct {
	Broker     string // --mqtt
	Topic      string
	PerMessage int           // readings per message: 1, or an array of more
	Publishers int           // connections publishing in parallel
	Window     int           // QoS 1 messages in flight per publisher
	Rate       float64       // readings per second offered; 0: as fast as the broker takes them
	Duration   time.Duration // of the publishing
	Drain      time.Duration // longest wait for the engine to catch up after it
}

func (c *MQTTConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Broker, "mqtt", "", "MQTT mode: publish readings to this broker (mqtt://host:port), which the engine at --url takes in with --mqtt")
	fs.StringVar(&c.Topic, "mqtt-topic", "crowdrisk/readings/bench", "topic of the readings in MQTT mode")
	fs.IntVar(&c.PerMessage, "mqtt-per-message", 1, "readings per MQTT message (1: a single reading, more: an array)")
	fs.IntVar(&c.Publishers, "mqtt-publishers", 4, "publishing connections in MQTT mode")
	fs.IntVar(&c.Window, "mqtt-window", 2000, "messages in flight per publisher in MQTT mode")
}

// MQTTReport is what an MQTT run measured.
type MQTTReport struct {
	URL        string `json:"url"`
	Broker     string `json:"broker"`
	PerMessage int    `json:"readingsPerMessage"`
	Publishers int    `json:"publishers"`

	PublishSeconds   float64 `json:"publishSeconds"`
	ReadingsSent     int64   `json:"readingsSent"`
	MessagesSent     int64   `json:"messagesSent"`
	PublishErrors    int64   `json:"publishErrors"`
	SentPerSecond    float64 `json:"sentPerSecond"`
	ReadingsAccepted int64   `json:"readingsAccepted"` // crowdrisk_mqtt_readings_total delta
	MessagesInvalid  int64   `json:"messagesInvalid"`
	MessagesRetried  int64   `json:"messagesRetried"`
	// AcceptedPerSecond is the readings accepted from the first publish to
	// the last reading accepted (the engine's sustained ingest rate).
	AcceptedPerSecond float64 `json:"acceptedPerSecond"`
	AcceptSeconds     float64 `json:"acceptSeconds"`
	// ServerCPUSeconds over AcceptSeconds is how busy the engine's core was
	// (near 1: the engine is the limit; well under: the broker or the
	// publisher is).
	ServerCPUSeconds *float64 `json:"serverCpuSeconds,omitempty"`
	ServerCoreBusy   *float64 `json:"serverCoreBusy,omitempty"`
	// ReadingsPerCPUSecond is accepted readings per second of the engine's
	// CPU time: what one core would take if it were the engine's alone
	// (on a shared machine the only figure that does not depend on the
	// neighbours, as long as they leave the caches alone).
	ReadingsPerCPUSecond *float64 `json:"readingsPerCpuSecond,omitempty"`
	BenchCPUSeconds      float64  `json:"benchCpuSeconds"`

	Notes []string `json:"notes,omitempty"`
}

func (r *MQTTReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	row("engine", "%s (mqtt mode, broker %s)", r.URL, r.Broker)
	row("messages", "%d sent (%d readings each, %d publishers, %d errors) in %.1f s: %.0f readings/s offered",
		r.MessagesSent, r.PerMessage, r.Publishers, r.PublishErrors, r.PublishSeconds, r.SentPerSecond)
	row("accepted", "%d readings in %.1f s: %.0f readings/s (%d messages invalid, %d retried)",
		r.ReadingsAccepted, r.AcceptSeconds, r.AcceptedPerSecond, r.MessagesInvalid, r.MessagesRetried)
	if r.ServerCPUSeconds != nil {
		row("engine CPU", "%.1f s (%.0f %% of a core)", *r.ServerCPUSeconds, 100**r.ServerCoreBusy)
		if r.ReadingsPerCPUSecond != nil {
			row("per engine CPU second", "%.0f readings", *r.ReadingsPerCPUSecond)
		}
	}
	row("bench CPU", "%.1f s", r.BenchCPUSeconds)
	for _, n := range r.Notes {
		row("note", "%s", n)
	}
	return tw.Flush()
}

const (
	metricMQTTReadings = "crowdrisk_mqtt_readings_total"
	metricMQTTInvalid  = `crowdrisk_mqtt_messages_total{result="invalid"}`
	metricMQTTRetried  = `crowdrisk_mqtt_messages_total{result="retried"}`
)

// RunMQTT publishes for cfg.Duration, then waits until the engine has taken
// everything (or stops making progress) and reports the rates.
func RunMQTT(ctx context.Context, engineURL, token string, cfg MQTTConfig, duration, drain time.Duration, rate float64, progress io.Writer) (*MQTTReport, error) {
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }
	switch {
	case cfg.PerMessage < 1 || cfg.PerMessage > 10000:
		return nil, fmt.Errorf("--mqtt-per-message must be from 1 to 10000")
	case cfg.Publishers < 1 || cfg.Window < 1:
		return nil, fmt.Errorf("--mqtt-publishers and --mqtt-window must be positive")
	case duration <= 0:
		return nil, fmt.Errorf("--duration must be positive")
	}
	api := newClient(strings.TrimRight(engineURL, "/"), token)
	zones, err := api.zones(ctx)
	if err != nil {
		return nil, err
	}
	m0, ok, err := api.scrapeMetrics(ctx)
	if err != nil {
		return nil, err
	}
	if _, has := m0[metricMQTTReadings]; !ok || !has {
		return nil, fmt.Errorf("the engine at %s has no %s in /metrics: start it with --mqtt %s", engineURL, metricMQTTReadings, cfg.Broker)
	}
	rep := &MQTTReport{URL: engineURL, Broker: cfg.Broker, PerMessage: cfg.PerMessage, Publishers: cfg.Publishers}
	pubs := make([]*mqtt.Publisher, cfg.Publishers)
	for i := range pubs {
		if pubs[i], err = mqtt.Dial(ctx, mqtt.Broker{URL: cfg.Broker, ClientID: fmt.Sprintf("crowdrisk-bench-%d-%d", time.Now().UnixNano(), i)}); err != nil {
			return nil, err
		}
		defer pubs[i].Close()
	}
	say("publishing %d readings per message over %d connections for %s (rate %s)", cfg.PerMessage, cfg.Publishers, duration, rateText(rate))

	var sent, messages, failed atomic.Int64
	t0, cpu0 := time.Now(), processCPU()
	pctx, cancel := context.WithDeadline(ctx, t0.Add(duration))
	defer cancel()
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			publishLoop(pctx, p, i, cfg, zones, rate/float64(cfg.Publishers), &sent, &messages, &failed)
		}()
	}
	wg.Wait()
	rep.PublishSeconds = time.Since(t0).Seconds()
	rep.ReadingsSent, rep.MessagesSent, rep.PublishErrors = sent.Load(), messages.Load(), failed.Load()
	rep.SentPerSecond = float64(rep.ReadingsSent) / rep.PublishSeconds
	say("published %d readings (%.0f/s); waiting for the engine", rep.ReadingsSent, rep.SentPerSecond)

	// The engine's progress, until it has all or stops for 10 s.
	last, lastAt := m0, time.Now()
	var lastChange time.Time
	for {
		m, _, err := api.scrapeMetrics(ctx)
		if err != nil {
			return nil, err
		}
		done := int64(m[metricMQTTReadings] - m0[metricMQTTReadings])
		if m[metricMQTTReadings] != last[metricMQTTReadings] {
			lastChange = time.Now()
		}
		idleSince := lastAt
		if lastChange.After(idleSince) {
			idleSince = lastChange
		}
		last = m
		if done+int64(m[metricMQTTInvalid]-m0[metricMQTTInvalid])*int64(cfg.PerMessage) >= rep.ReadingsSent ||
			time.Since(idleSince) > 10*time.Second || time.Since(lastAt) > max(drain, 2*time.Minute) {
			break
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return nil, err
		}
	}
	rep.BenchCPUSeconds = processCPU() - cpu0
	rep.ReadingsAccepted = int64(last[metricMQTTReadings] - m0[metricMQTTReadings])
	rep.MessagesInvalid = int64(last[metricMQTTInvalid] - m0[metricMQTTInvalid])
	rep.MessagesRetried = int64(last[metricMQTTRetried] - m0[metricMQTTRetried])
	if lastChange.IsZero() {
		lastChange = time.Now()
	}
	rep.AcceptSeconds = lastChange.Sub(t0).Seconds()
	rep.AcceptedPerSecond = float64(rep.ReadingsAccepted) / rep.AcceptSeconds
	if cpu, ok := last["process_cpu_seconds_total"]; ok {
		c := cpu - m0["process_cpu_seconds_total"]
		rep.ServerCPUSeconds = &c
		busy := c / rep.AcceptSeconds
		rep.ServerCoreBusy = &busy
		if c > 0 {
			per := float64(rep.ReadingsAccepted) / c
			rep.ReadingsPerCPUSecond = &per
		}
	}
	if rep.ReadingsAccepted < rep.ReadingsSent {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d readings sent were not accepted by the end", rep.ReadingsSent-rep.ReadingsAccepted))
	}
	return rep, nil
}

func (r *MQTTReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// mqttRate is 1 when --rate was given (readings per second to offer) and 0
// when not: the MQTT mode then publishes as fast as the broker takes them.
func mqttRate(fs *flag.FlagSet) float64 {
	given := 0.0
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "rate" {
			given = 1
		}
	})
	return given
}

func rateText(r float64) string {
	if r <= 0 {
		return "as fast as the broker takes them"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + " readings/s"
}

// publishLoop sends messages of cfg.PerMessage readings, each sensor's
// readings in time order, with at most cfg.Window unacknowledged, paced to
// rate readings per second when rate > 0.
func publishLoop(ctx context.Context, p *mqtt.Publisher, id int, cfg MQTTConfig, zones []string, rate float64,
	sent, messages, failed *atomic.Int64) {
	type reading struct {
		ZoneID    string  `json:"zoneId"`
		SensorID  string  `json:"sensorId"`
		Density   float64 `json:"density"`
		Timestamp int64   `json:"timestamp"`
	}
	inflight := make([]paho.Token, 0, cfg.Window)
	settle := func(tok paho.Token) {
		tok.Wait()
		if tok.Error() != nil {
			failed.Add(1)
		}
	}
	batch := make([]reading, cfg.PerMessage)
	start := time.Now()
	var n int64 // readings sent by this publisher
	for k := 0; ctx.Err() == nil; k++ {
		if rate > 0 {
			due := time.Duration(float64(n) / rate * float64(time.Second))
			if wait := due - time.Since(start); wait > 0 {
				if sleep(ctx, wait) != nil {
					break
				}
			}
		}
		now := time.Now().UnixMilli()
		for j := range batch {
			// Densities in the normal band: the run measures ingest, not
			// alert commits.
			z := (k*cfg.PerMessage + j) % len(zones)
			batch[j] = reading{ZoneID: zones[z], SensorID: fmt.Sprintf("bench-%d", id), Density: 0.5 + float64(j%10)/100, Timestamp: now}
		}
		var body []byte
		if cfg.PerMessage == 1 {
			body, _ = json.Marshal(batch[0])
		} else {
			body, _ = json.Marshal(batch)
		}
		if len(inflight) == cfg.Window {
			settle(inflight[0])
			inflight = inflight[1:]
		}
		inflight = append(inflight, p.Publish(cfg.Topic, body))
		n += int64(cfg.PerMessage)
		sent.Add(int64(cfg.PerMessage))
		messages.Add(1)
	}
	for _, tok := range inflight {
		settle(tok)
	}
}
