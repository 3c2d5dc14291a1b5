package app

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestEdgeFlags(t *testing.T) {
	env := map[string]string{"CROWDRISK_JWT_AUDIENCE": "venue-north", "CROWDRISK_BODY_TIMEOUT": "3s"}
	c, err := ParseFlags([]string{"--jwt-issuer", "crowdrisk-ops"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.JWTAudience != "venue-north" || c.JWTIssuer != "crowdrisk-ops" || c.BodyTimeout != 3*time.Second {
		t.Fatalf("%+v", c)
	}
	if d := DefaultConfig().BodyTimeout; d != 10*time.Second {
		t.Fatalf("default --body-timeout %s", d)
	}
	if _, err := ParseFlags([]string{"--body-timeout", "0s"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("--body-timeout 0 accepted")
	}
	// A mistyped flag is one line that names it, not the flag list.
	var stderr bytes.Buffer
	_, err = ParseFlags([]string{"--jwt-audiance", "x"}, func(string) string { return "" }, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-jwt-audiance") || strings.Contains(err.Error(), "\n") || stderr.Len() != 0 {
		t.Fatalf("err %v, stderr %q", err, stderr.String())
	}
}
