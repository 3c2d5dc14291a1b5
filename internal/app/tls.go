package app

import (
	"crypto/tls"
	"fmt"
	"time"
)

// h2Linger is the longest an HTTP/2 connection holds a frame to send it
// with its other streams' frames in one write (internal/sse/h2conn.go): a
// few milliseconds on a stream whose budget is 150 ms at p99, for several
// times fewer TLS records and write(2)s per delivery (BENCHMARKS.md).
const h2Linger = 2 * time.Millisecond

// tlsConfig loads --tls-cert and --tls-key; nil without them. The files
// are read once, at start-up (a renewed certificate needs a restart, which
// the streams survive: they resume from their last id).
//
// net/http's ServeTLS offers HTTP/2 by ALPN with this config: browsers then
// multiplex every stream and API call to the engine over one connection
// (up to 250 concurrent streams, net/http's default), so a control room's
// tabs are not limited to HTTP/1.1's six connections per host. HTTP/2
// streams cannot be hijacked into the writer pool; internal/sse serves each
// from its handler goroutine.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", c.TLSCert, c.TLSKey, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		// TLS 1.2 is the floor HTTP/2 requires (RFC 9113 section 9.2).
		MinVersion: tls.VersionTLS12,
	}, nil
}

// BaseURL is where the engine answers: https:// with --tls-cert.
func (a *App) BaseURL() string {
	if a.server != nil && a.server.TLSConfig != nil {
		return "https://" + a.Addr()
	}
	return "http://" + a.Addr()
}
