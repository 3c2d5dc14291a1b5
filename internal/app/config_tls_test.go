package app

import (
	"io"
	"strings"
	"testing"
)

func TestTLSFlags(t *testing.T) {
	env := map[string]string{"CROWDRISK_TLS_CERT": "/etc/crowdrisk/cert.pem", "CROWDRISK_TLS_KEY": "/etc/crowdrisk/key.pem"}
	c, err := ParseFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLSCert != env["CROWDRISK_TLS_CERT"] || c.TLSKey != env["CROWDRISK_TLS_KEY"] {
		t.Fatalf("from the environment: cert %q key %q", c.TLSCert, c.TLSKey)
	}
	c, err = ParseFlags([]string{"--tls-cert", "a.pem", "--tls-key", "b.pem"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.TLSCert != "a.pem" || c.TLSKey != "b.pem" {
		t.Fatalf("flags over the environment: %v, cert %q key %q", err, c.TLSCert, c.TLSKey)
	}
	for _, args := range [][]string{{"--tls-cert", "a.pem"}, {"--tls-key", "b.pem"}} {
		_, err := ParseFlags(args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--tls-cert and --tls-key go together") {
			t.Fatalf("%v: %v", args, err)
		}
	}
	// A file that is not there fails the start, naming both flags.
	if _, _, err := (Config{TLSCert: "/nonexistent/c.pem", TLSKey: "/nonexistent/k.pem"}).tlsConfig(nil); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("missing files: %v", err)
	}
}
