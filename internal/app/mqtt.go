package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/api"
	"github.com/crowdrisk/crowdrisk/internal/mqtt"
)

// MQTTConfig is the MQTT ingest (--mqtt): readings from a broker, the same
// JSON as POST /readings.
type MQTTConfig struct {
	URL string
	// Password (CROWDRISK_MQTT_PASSWORD, environment only) overrides the
	// URL's, which a process listing would show.
	Password   string
	Topic      string
	ClientID   string // default: stable per instance, see clientID
	DeadLetter string
	CAFile     string
}

func defaultMQTTConfig() MQTTConfig {
	return MQTTConfig{Topic: mqtt.DefaultTopic, DeadLetter: mqtt.DefaultDeadLetterTopic}
}

func mqttFlags(e *envFlags, c *MQTTConfig, getenv func(string) string) {
	e.str(&c.URL, "mqtt", "MQTT broker to take readings from: mqtt://[user@]host:1883 or mqtts:// (password better in CROWDRISK_MQTT_PASSWORD)")
	e.str(&c.Topic, "mqtt-topic", "topic filter of the readings (QoS 1); with --redis the instances share it ($share/crowdrisk/...)")
	e.str(&c.ClientID, "mqtt-client-id", "MQTT client id, which names the persistent session (default: from the host name, --addr and --data-dir)")
	e.str(&c.DeadLetter, "mqtt-dead-letter", "topic that receives refused messages with their error")
	e.str(&c.CAFile, "mqtt-ca-file", "PEM authorities of the broker's certificate for mqtts:// (default: the system's)")
	c.Password = getenv("CROWDRISK_MQTT_PASSWORD")
}

func (c MQTTConfig) validate() error {
	if c.URL == "" {
		return nil
	}
	if err := (mqtt.Broker{URL: c.URL, CAFile: c.CAFile}).Check(); err != nil {
		return err
	}
	return mqtt.CheckTopics(c.Topic, c.DeadLetter)
}

// buildMQTT makes the subscriber when --mqtt is given; Run starts it.
func (a *App) buildMQTT() error {
	c := a.cfg.MQTT
	if c.URL == "" {
		return nil
	}
	topic := subscriptionTopic(c.Topic, a.cfg.Redis != "")
	id := c.ClientID
	if id == "" {
		id = defaultClientID(a.cfg.Addr, a.cfg.DataDir)
	}
	var err error
	a.mqtt, err = mqtt.New(mqtt.Options{
		Broker: mqtt.Broker{URL: c.URL, Password: c.Password, CAFile: c.CAFile, ClientID: id},
		Topic:  topic, DeadLetterTopic: c.DeadLetter, Engine: a.live(),
		Logger: a.log, Observer: a.metrics.NewMQTT(), MaxPayload: api.DefaultMaxBodyBytes,
	})
	return err
}

// subscriptionTopic is the topic filter subscribed to.
func subscriptionTopic(topic string, cluster bool) string {
	if cluster && !strings.HasPrefix(topic, "$share/") {
		// Several instances: every instance subscribes, in one shared
		// subscription, so each message goes to one of them (which
		// forwards it to the leader, as an HTTP reading would be). The
		// alternative, only the leader subscribing, would stop ingest for
		// the length of a failover, and two leaders for a moment would
		// need one client id, which makes them take the session from each
		// other. A plain subscription on each would ingest every reading
		// once per instance.
		return "$share/crowdrisk/" + topic
	}
	return topic
}

// defaultClientID is stable across restarts of one instance (the broker
// keeps its session, and what it queued, under it) and differs between
// instances: the host, and a digest of the address and data directory.
func defaultClientID(addr, dataDir string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	sum := sha256.Sum256([]byte(addr + "\x00" + dataDir))
	return fmt.Sprintf("crowdrisk-%s-%s", host, hex.EncodeToString(sum[:4]))
}

// runMQTT starts the subscriber; the returned stop ends it and waits (Run
// calls it first at shutdown: no reading is taken in once the engine
// begins to stop, and the batch in hand is finished and acknowledged).
func (a *App) runMQTT() (stop func()) {
	if a.mqtt == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.mqtt.Run(ctx) }()
	return func() { cancel(); <-done }
}

// mqttReady adds the broker's state to /readyz. A broker that is down does
// not make the instance unready: it still serves every screen and takes
// readings over HTTP, and a load balancer taking it out would blind the
// control room for a fault of the sensors' path. The state is shown (and
// in crowdrisk_mqtt_connected) for an operator to act on.
func (a *App) mqttReady(details map[string]any) map[string]any {
	if a.mqtt == nil {
		return details
	}
	if details == nil {
		details = map[string]any{}
	}
	details["mqtt"] = a.mqtt.Status()
	return details
}
