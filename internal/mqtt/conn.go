package mqtt

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/url"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/crowdrisk/crowdrisk/internal/combine"
)

// The connection under the MQTT client. Paho reads a packet's fixed header
// a byte at a time from the socket and writes every packet, each PUBACK
// included, with a write(2) of its own: at one reading per message that
// was a third of the engine's CPU (BENCHMARKS.md, "MQTT ingest"). Here reads
// go through a buffer, and writes are combined (package combine): a packet
// leaves, with whatever else came meanwhile, in one write(2) at most
// linger after it came.
//
// A socket write that takes longer than the client's write timeout closes
// the connection, which the client's reader sees at once (and
// Subscriber.Run reconnects). A write the client made before that is then
// lost with the connection, as it would have been in the socket's buffer:
// MQTT's acknowledgements make it good (an unacknowledged message comes
// again).

const (
	// combineLinger bounds how long a packet may wait for company: a
	// PUBACK a millisecond later costs the broker nothing (its window of
	// unacknowledged messages is a thousand), a write(2) per message costs
	// the engine dearly.
	combineLinger = time.Millisecond
	// combineMax is how much may wait before the writes go to the socket
	// at once, and the read buffer's size.
	combineMax = 64 << 10
)

// openConn is Paho's OpenConnectionFunc: the dial Paho would make for the
// broker's scheme (plain TCP, or TLS with the options' configuration),
// under a combining connection.
func openConn(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var c net.Conn
	var err error
	switch uri.Scheme {
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		c, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	default:
		c, err = d.Dial("tcp", uri.Host)
	}
	if err != nil {
		return nil, err
	}
	return newCombiningConn(c, combineLinger, o.WriteTimeout), nil
}

// bufferedConn is a combining connection (package combine) whose reads go
// through a buffer.
type bufferedConn struct {
	*combine.Conn
	r *bufio.Reader
}

func newCombiningConn(c net.Conn, linger, writeTimeout time.Duration) *bufferedConn {
	cc := combine.New(c, linger, writeTimeout, combineMax)
	cc.Start()
	return &bufferedConn{Conn: cc, r: bufio.NewReaderSize(c, combineMax)}
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
