package mqtt

import (
	"strings"
	"testing"
)

func TestTopicMatches(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"crowdrisk/readings/#", "crowdrisk/readings/a/b", true},
		{"crowdrisk/readings/#", "crowdrisk/readings", true},
		{"crowdrisk/readings/#", "crowdrisk/dead-letter", false},
		{"crowdrisk/+/x", "crowdrisk/readings/x", true},
		{"crowdrisk/+", "crowdrisk/readings/x", false},
		{"#", "crowdrisk/dead-letter", true},
		{"$share/g/crowdrisk/#", "crowdrisk/dead-letter", true},
		{"$share/g/crowdrisk/readings/#", "crowdrisk/dead-letter", false},
		{"a/b", "a/b", true},
	} {
		if got := topicMatches(c.filter, c.topic); got != c.want {
			t.Errorf("topicMatches(%q, %q) = %v", c.filter, c.topic, got)
		}
	}
}

func TestBrokerURLs(t *testing.T) {
	for _, c := range []struct{ url, server, user, password string }{
		{"mqtt://broker", "tcp://broker:1883", "", ""},
		{"mqtts://broker", "ssl://broker:8883", "", ""},
		{"mqtt://u:p@10.0.0.1:1884", "tcp://10.0.0.1:1884", "u", "p"},
		{"mqtt://u@[::1]:1883", "tcp://[::1]:1883", "u", "env"},
	} {
		b := Broker{URL: c.url}
		if c.password == "env" {
			b.Password = "env"
		}
		a, err := b.parse()
		if err != nil || a.server != c.server || a.user != c.user || a.password != c.password {
			t.Errorf("%s: %+v %v", c.url, a, err)
		}
		if strings.Contains(a.host, "@") {
			t.Errorf("%s: credentials in the host for logs: %q", c.url, a.host)
		}
	}
	if _, err := (Broker{URL: "mqtt://user:s3cret@broker:x"}).parse(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a bad URL's error shows the password: %v", err)
	}
}
