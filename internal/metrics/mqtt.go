package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crowdrisk/crowdrisk/internal/mqtt"
)

// MQTT are the series of the MQTT ingest (--mqtt), registered only when it
// runs.
type MQTT struct {
	connected  prometheus.Gauge
	messages   *prometheus.CounterVec
	readings   prometheus.Counter
	deadLetter prometheus.Counter
	reconnects prometheus.Counter
}

var _ mqtt.Observer = (*MQTT)(nil)

// NewMQTT registers the MQTT series in m's registry.
func (m *Metrics) NewMQTT() *MQTT {
	q := &MQTT{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crowdrisk_mqtt_connected",
			Help: "1 while the session with the MQTT broker is up.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crowdrisk_mqtt_messages_total",
			Help: "MQTT messages by result: accepted (ingested, acknowledged), invalid (refused, dead-lettered, acknowledged), retried (the engine could not take them now; counted at each retry, not acknowledged).",
		}, []string{"result"}),
		readings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crowdrisk_mqtt_readings_total",
			Help: "Readings the engine accepted from MQTT messages.",
		}),
		deadLetter: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crowdrisk_mqtt_dead_letters_total",
			Help: "Refused messages published to the dead-letter topic.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crowdrisk_mqtt_reconnects_total",
			Help: "Sessions with the broker opened again after the first.",
		}),
	}
	for _, r := range []string{mqtt.ResultAccepted, mqtt.ResultInvalid, mqtt.ResultRetried, mqtt.ResultDuplicate} {
		q.messages.WithLabelValues(r) // every result shows, at 0
	}
	m.reg.MustRegister(q.connected, q.messages, q.readings, q.deadLetter, q.reconnects)
	return q
}

func (q *MQTT) MQTTConnected(up bool) {
	if up {
		q.connected.Set(1)
	} else {
		q.connected.Set(0)
	}
}

func (q *MQTT) MQTTMessages(result string, n int) {
	if n > 0 {
		q.messages.WithLabelValues(result).Add(float64(n))
	}
}

func (q *MQTT) MQTTReadings(n int)    { q.readings.Add(float64(n)) }
func (q *MQTT) MQTTDeadLetters(n int) { q.deadLetter.Add(float64(n)) }
func (q *MQTT) MQTTReconnect()        { q.reconnects.Inc() }
