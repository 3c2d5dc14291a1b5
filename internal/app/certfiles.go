package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckEvery is how often, at most, a handshake looks whether the
// certificate files changed: a renewal (certbot, an ACME client, a venue's
// IT copying a new pair) takes effect within it, without a restart, which
// for this engine would pause ingest and every screen's stream.
const certCheckEvery = 10 * time.Second

// certFiles serves the pair in --tls-cert/--tls-key and takes a renewed
// pair without a restart: each handshake (at most once every checkEvery)
// compares the files' modification times and sizes with those of the pair
// in use, and loads them again when either changed. A pair that does not
// load (half-written during the renewal, a key that does not match) is not
// used: the last good one stays, and the failure is logged once per change
// of the files. Open connections keep the certificate they shook hands
// with; new ones get the new one.
type certFiles struct {
	certPath, keyPath string
	log               *slog.Logger
	now               func() time.Time
	checkEvery        time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	seen    fileStamp // of the files as last looked at (loaded or not)
	checked time.Time
}

// fileStamp tells whether a pair of files changed.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// loadCertFiles loads the pair; a pair that does not load fails the start.
func loadCertFiles(certPath, keyPath string, log *slog.Logger, now func() time.Time) (*certFiles, error) {
	c := &certFiles{certPath: certPath, keyPath: keyPath, log: log, now: now, checkEvery: certCheckEvery}
	stamp, err := c.stamp()
	if err == nil {
		err = c.load(stamp)
	}
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certPath, keyPath, err)
	}
	c.checked = now()
	return c, nil
}

func (c *certFiles) stamp() (fileStamp, error) {
	ci, err := os.Stat(c.certPath)
	if err != nil {
		return fileStamp{}, err
	}
	ki, err := os.Stat(c.keyPath)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{certMod: ci.ModTime(), keyMod: ki.ModTime(), certSize: ci.Size(), keySize: ki.Size()}, nil
}

// load reads the pair; c.mu is held or c is not shared yet.
func (c *certFiles) load(stamp fileStamp) error {
	c.seen = stamp
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return err
	}
	c.cert = &cert
	return nil
}

// GetCertificate is the tls.Config hook.
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.checked) < c.checkEvery {
		return c.cert, nil
	}
	c.checked = now
	stamp, err := c.stamp()
	if err != nil {
		if stamp != c.seen { // log once, not per handshake
			c.seen = stamp
			c.log.Error("TLS certificate files unreadable; still serving the last good certificate",
				"category", "tls", "cert", c.certPath, "key", c.keyPath, "err", err, "notAfter", c.notAfterLocked())
		}
		return c.cert, nil
	}
	if stamp == c.seen {
		return c.cert, nil
	}
	if err := c.load(stamp); err != nil {
		c.log.Error("TLS certificate files changed but do not load; still serving the last good certificate",
			"category", "tls", "cert", c.certPath, "key", c.keyPath, "err", err, "notAfter", c.notAfterLocked())
		return c.cert, nil
	}
	c.log.Info("TLS certificate reloaded", "category", "tls", "cert", c.certPath, "notAfter", c.notAfterLocked())
	return c.cert, nil
}

// NotAfter is when the certificate in use expires (the metrics show it).
func (c *certFiles) NotAfter() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notAfterLocked()
}

func (c *certFiles) notAfterLocked() time.Time {
	if c.cert == nil || c.cert.Leaf == nil {
		return time.Time{}
	}
	return c.cert.Leaf.NotAfter
}
