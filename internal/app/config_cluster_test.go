package app

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestClusterFlags(t *testing.T) {
	env := map[string]string{"CROWDRISK_POSTGRES": "postgres://db/crowdrisk"}
	c, err := ParseFlags([]string{"--redis", "redis://127.0.0.1:6379/0", "--lease-ttl", "6s"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Postgres != "postgres://db/crowdrisk" || c.Redis == "" || c.LeaseTTL != 6*time.Second || c.RedisPrefix != "crowdrisk:" {
		t.Fatalf("%+v", c)
	}
	// Instances on their own SQLite files would disagree about alerts.
	_, err = ParseFlags([]string{"--redis", "redis://127.0.0.1:6379/0"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--postgres") {
		t.Fatalf("--redis without --postgres: %v", err)
	}
	_, err = ParseFlags([]string{"--redis", "redis://x/0", "--postgres", "postgres://x/y", "--lease-ttl", "10ms"},
		func(string) string { return "" }, io.Discard)
	if err == nil {
		t.Fatal("a 10ms lease accepted")
	}
	// The default stays one instance on SQLite.
	if d := DefaultConfig(); d.Redis != "" || d.Postgres != "" || d.Validate() != nil {
		t.Fatalf("default config %+v", d)
	}
}
