package app

import (
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testcert"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// writePair writes a certificate with the given serial, expiring serial
// hours from now, and its key, and dates both files at mod (so that a
// rewrite in the same clock tick still counts as a change).
func writePair(t *testing.T, certPath, keyPath string, serial int64, mod time.Time) time.Time {
	t.Helper()
	c := testcert.New(t, serial, time.Now().Add(time.Duration(serial)*time.Hour).Truncate(time.Second))
	writeDated(t, certPath, c.CertPEM, mod)
	writeDated(t, keyPath, c.KeyPEM, mod)
	return c.TLS.Leaf.NotAfter
}

func writeDated(t *testing.T, path string, b []byte, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// A renewed certificate is served to new connections without a restart;
// a renewal caught half-written, or files gone, leave the last good
// certificate in use and are logged once, not once per handshake.
func TestRenewedCertificateIsTakenWithoutARestart(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	mod := time.Now().Add(-time.Hour)
	notAfter1 := writePair(t, certPath, keyPath, 1, mod)

	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func() { mu.Lock(); now = now.Add(certCheckEvery + time.Second); mu.Unlock() }
	var logs testenv.SyncBuffer
	certs, err := loadCertFiles(certPath, keyPath, slog.New(slog.NewTextHandler(&logs, nil)), clock)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	// served is the serial of the certificate a new connection gets.
	served := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}

	if got := served(); got != 1 || !certs.NotAfter().Equal(notAfter1) {
		t.Fatalf("serial %d, notAfter %v: want the first pair", got, certs.NotAfter())
	}
	mod = mod.Add(time.Minute)
	notAfter2 := writePair(t, certPath, keyPath, 2, mod)
	if got := served(); got != 1 {
		t.Fatalf("serial %d within %v of the last look, want 1 (files are looked at once per interval)", got, certCheckEvery)
	}
	advance()
	if got := served(); got != 2 || !certs.NotAfter().Equal(notAfter2) {
		t.Fatalf("after the renewal: serial %d, notAfter %v, want the second pair", got, certs.NotAfter())
	}
	if strings.Count(logs.String(), "TLS certificate reloaded") != 1 {
		t.Fatalf("the reload is not logged once:\n%s", logs.String())
	}

	// Half-written: the certificate file is cut short.
	mod = mod.Add(time.Minute)
	writeDated(t, certPath, []byte("-----BEGIN CERTIFICATE-----\nMIIB"), mod)
	for range 3 {
		advance()
		if got := served(); got != 2 {
			t.Fatalf("with a broken certificate file: serial %d, want the last good one (2)", got)
		}
	}
	if n := strings.Count(logs.String(), "do not load"); n != 1 {
		t.Fatalf("a broken pair logged %d times, want once:\n%s", n, logs.String())
	}
	// Gone, then a good pair again.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		advance()
		if got := served(); got != 2 {
			t.Fatalf("with the key file gone: serial %d, want 2", got)
		}
	}
	if n := strings.Count(logs.String(), "unreadable"); n != 1 {
		t.Fatalf("missing files logged %d times, want once:\n%s", n, logs.String())
	}
	mod = mod.Add(time.Minute)
	writePair(t, certPath, keyPath, 3, mod)
	advance()
	if got := served(); got != 3 {
		t.Fatalf("after the files came back: serial %d, want 3", got)
	}
}
