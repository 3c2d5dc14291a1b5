package app

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// h2Linger is the longest an HTTP/2 connection holds a frame to send it
// with its other streams' frames in one write (internal/sse/h2conn.go): a
// few milliseconds on a stream whose budget is 150 ms at p99, for several
// times fewer TLS records and write(2)s per delivery (BENCHMARKS.md).
const h2Linger = 2 * time.Millisecond

// tlsConfig loads --tls-cert and --tls-key; nil without them. A renewed
// pair is taken without a restart (certfiles.go).
//
// net/http's ServeTLS offers HTTP/2 by ALPN with this config: browsers then
// multiplex every stream and API call to the engine over one connection
// (up to 250 concurrent streams), so a control room's tabs are not limited
// to HTTP/1.1's six connections per host. HTTP/2 streams cannot be
// hijacked into the writer pool; internal/sse serves each from its handler
// goroutine.
func (c Config) tlsConfig(log *slog.Logger) (*tls.Config, *certFiles, error) {
	if c.TLSCert == "" {
		return nil, nil, nil
	}
	certs, err := loadCertFiles(c.TLSCert, c.TLSKey, log, time.Now)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		GetCertificate: certs.GetCertificate,
		// TLS 1.2 is the floor HTTP/2 requires (RFC 9113 section 9.2).
		MinVersion: tls.VersionTLS12,
	}, certs, nil
}

// BaseURL is where the engine answers: https:// with --tls-cert.
func (a *App) BaseURL() string {
	if a.server != nil && a.server.TLSConfig != nil {
		return "https://" + a.Addr()
	}
	return "http://" + a.Addr()
}
