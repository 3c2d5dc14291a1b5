package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TLSCertificate shows when the certificate the engine serves expires, so
// that a venue's monitoring can warn before it does (a renewed pair is
// taken without a restart, and the gauge follows it). notAfter is asked at
// each scrape.
func (m *Metrics) TLSCertificate(notAfter func() time.Time) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crowdrisk_tls_certificate_expiry_timestamp_seconds",
		Help: "When the TLS certificate the engine serves (--tls-cert) expires, as a Unix time.",
	}, func() float64 { return float64(notAfter().Unix()) }))
}
