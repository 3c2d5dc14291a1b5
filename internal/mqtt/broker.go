// Package mqtt takes sensor readings from an MQTT broker: the same JSON as
// POST /readings (one reading or an array), QoS 1, in a persistent session
// (MQTT 3.1.1, clean session off), so a reading the broker holds is lost
// neither to a restart of the engine nor to one of the broker (with its
// persistence on). A message is acknowledged only once the engine took its
// readings, or refused them for good, in which case it goes to the
// dead-letter topic with its error; while the engine cannot take anything
// (store down, no leader) it is retried and not acknowledged.
//
// The client is Eclipse Paho (github.com/eclipse/paho.mqtt.golang): MQTT
// 3.1.1 with a real persistent session and manual acknowledgement, which is
// all this needs. Connecting and reconnecting is ours (see Subscriber.Run),
// not Paho's, so that every failed attempt says why in /readyz and the log.
package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Broker says where and as whom to connect.
type Broker struct {
	// URL is mqtt://[user[:password]@]host[:port] (port 1883) or mqtts://
	// (TLS, port 8883).
	URL string
	// Password, when set, overrides the URL's (CROWDRISK_MQTT_PASSWORD:
	// a password in a URL shows in ps and in shell history).
	Password string
	// CAFile is a PEM file of the authorities that sign the broker's
	// certificate (mqtts only; default: the system's).
	CAFile string
	// ClientID names the session: the broker keeps it, and the messages
	// queued for it, for whoever connects with the same id next.
	ClientID string
}

// Check validates the broker settings without connecting; errors name the
// flag.
func (b Broker) Check() error {
	_, err := b.parse()
	return err
}

type brokerAddr struct {
	server   string // tcp://host:port or ssl://host:port for Paho
	host     string // host:port, for logs (never the credentials)
	user     string
	password string
	tls      *tls.Config
}

func (b Broker) parse() (brokerAddr, error) {
	u, err := url.Parse(b.URL)
	if err != nil {
		return brokerAddr{}, fmt.Errorf("--mqtt: %v", redactErr(err, b.URL))
	}
	var a brokerAddr
	port := "1883"
	switch u.Scheme {
	case "mqtt", "tcp":
		a.server = "tcp://"
	case "mqtts", "ssl", "tls":
		a.server, port = "ssl://", "8883"
	default:
		return a, fmt.Errorf("--mqtt: the URL must start with mqtt:// or mqtts://, not %q", u.Scheme+"://")
	}
	if u.Hostname() == "" {
		return a, fmt.Errorf("--mqtt: the URL has no host (mqtt://host:1883)")
	}
	if u.Path != "" && u.Path != "/" {
		return a, fmt.Errorf("--mqtt: the URL takes no path (the topic is --mqtt-topic)")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	a.host = net.JoinHostPort(u.Hostname(), port)
	a.server += a.host
	if u.User != nil {
		a.user = u.User.Username()
		a.password, _ = u.User.Password()
	}
	if b.Password != "" {
		a.password = b.Password
	}
	if b.CAFile != "" && a.server[:3] != "ssl" {
		return a, fmt.Errorf("--mqtt-ca-file is only for mqtts:// URLs")
	}
	if strings.HasPrefix(a.server, "ssl") {
		a.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if b.CAFile != "" {
			pem, err := os.ReadFile(b.CAFile)
			if err != nil {
				return a, fmt.Errorf("--mqtt-ca-file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return a, fmt.Errorf("--mqtt-ca-file %s: no PEM certificate in it", b.CAFile)
			}
			a.tls.RootCAs = pool
		}
	}
	return a, nil
}

// redactErr keeps a password in a malformed URL out of the error.
func redactErr(err error, raw string) string {
	s := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	if i := strings.Index(raw, "@"); i > 0 {
		s = strings.ReplaceAll(s, raw[:i], "(credentials)")
	}
	return s
}

// clientOptions are the Paho options common to the subscriber and the
// publisher: no automatic reconnection (Subscriber.Run does it, and a
// publisher reports the failure), acknowledgements sent by us, and our
// connection under the client (conn.go).
func (a brokerAddr) clientOptions(clientID string) *paho.ClientOptions {
	o := paho.NewClientOptions().AddBroker(a.server).SetClientID(clientID).
		SetUsername(a.user).SetPassword(a.password).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetPingTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second).
		SetCustomOpenConnectionFn(openConn) // buffered reads, combined writes (conn.go)
	if a.tls != nil {
		o.SetTLSConfig(a.tls)
	}
	return o
}

// topicMatches reports whether an MQTT topic filter (with + and #, possibly
// a $share/group/ subscription) matches a topic name.
func topicMatches(filter, topic string) bool {
	if strings.HasPrefix(filter, "$share/") {
		parts := strings.SplitN(filter, "/", 3)
		if len(parts) < 3 {
			return false
		}
		filter = parts[2]
	}
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, p := range f {
		switch {
		case p == "#":
			return true
		case i >= len(t):
			return false
		case p == "+":
		case p != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}
