package app

import (
	"io"
	"strings"
	"testing"
)

func TestMQTTFlags(t *testing.T) {
	env := map[string]string{"CROWDRISK_MQTT": "mqtt://engine@broker:1883", "CROWDRISK_MQTT_PASSWORD": "s3cret"}
	c, err := ParseFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.URL != env["CROWDRISK_MQTT"] || c.MQTT.Password != "s3cret" ||
		c.MQTT.Topic != "crowdrisk/readings/#" || c.MQTT.DeadLetter != "crowdrisk/dead-letter" {
		t.Fatalf("from the environment: %+v", c.MQTT)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mqtt", "http://broker"}, "--mqtt: the URL must start with mqtt:// or mqtts://"},
		{[]string{"--mqtt", "mqtt://"}, "--mqtt: the URL has no host"},
		{[]string{"--mqtt", "mqtt://u:pw@broker/x"}, "--mqtt: the URL takes no path"},
		{[]string{"--mqtt", "mqtt://broker", "--mqtt-ca-file", "ca.pem"}, "--mqtt-ca-file is only for mqtts://"},
		{[]string{"--mqtt", "mqtts://broker", "--mqtt-ca-file", "/nonexistent/ca.pem"}, "--mqtt-ca-file"},
		{[]string{"--mqtt", "mqtt://broker", "--mqtt-topic", "crowdrisk/#"}, "--mqtt-dead-letter \"crowdrisk/dead-letter\" matches --mqtt-topic"},
		{[]string{"--mqtt", "mqtt://broker", "--mqtt-dead-letter", "dead/+"}, "--mqtt-dead-letter \"dead/+\": a topic to publish to has no wildcards"},
	} {
		_, err := ParseFlags(tc.args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%v: the password shows in %q", tc.args, err)
		}
	}
	// Stable per instance, different between instances.
	a, b := defaultClientID("127.0.0.1:8080", "data"), defaultClientID("127.0.0.1:8081", "data")
	if a != defaultClientID("127.0.0.1:8080", "data") || a == b || !strings.HasPrefix(a, "crowdrisk-") {
		t.Errorf("client ids %q %q", a, b)
	}
	for _, c := range []struct {
		topic   string
		cluster bool
		want    string
	}{
		{"crowdrisk/readings/#", false, "crowdrisk/readings/#"},
		{"crowdrisk/readings/#", true, "$share/crowdrisk/crowdrisk/readings/#"},
		{"$share/venue-a/sensors/#", true, "$share/venue-a/sensors/#"},
	} {
		if got := subscriptionTopic(c.topic, c.cluster); got != c.want {
			t.Errorf("subscriptionTopic(%q, %v) = %q, want %q", c.topic, c.cluster, got, c.want)
		}
	}
}
