// Package testcert makes self-signed certificates for the tests that serve
// or dial TLS. It is a package of its own, not part of testenv, because it
// builds on every platform the binary does (testenv starts unix
// processes), and the Windows vet of the test command covers tests that
// use it.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Cert is a self-signed certificate for 127.0.0.1 (the engine's HTTPS, the
// broker's mqtts): its own authority, so trusting it is trusting Roots.
type Cert struct {
	TLS             tls.Certificate // with its Leaf
	Roots           *x509.CertPool  // trusts it
	CertPEM, KeyPEM []byte
}

// New makes a certificate with serial that expires at notAfter (serial 0
// is 1; a zero notAfter is an hour from now).
func New(t testing.TB, serial int64, notAfter time.Time) Cert {
	t.Helper()
	if serial == 0 {
		serial = 1
	}
	if notAfter.IsZero() {
		notAfter = time.Now().Add(time.Hour)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "crowdrisk test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return Cert{
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Roots:   roots,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}
}

// WriteFiles writes the certificate (readable by all: the broker runs as another
// user) and its key (owner only) as PEM files.
func (c Cert) WriteFiles(t testing.TB, certFile, keyFile string) {
	t.Helper()
	if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Write makes a certificate and writes it as cert.pem and key.pem in
// dir.
func Write(t testing.TB, dir string) (c Cert, certFile, keyFile string) {
	t.Helper()
	c = New(t, 0, time.Time{})
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c.WriteFiles(t, certFile, keyFile)
	return c, certFile, keyFile
}
