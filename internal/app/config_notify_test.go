package app

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestNotifyFlags(t *testing.T) {
	env := map[string]string{"CROWDRISK_WEBHOOK_SECRET": "0123456789abcdef0123", "CROWDRISK_WEBHOOK": "http://env/a http://env/b"}
	getenv := func(k string) string { return env[k] }
	c, err := ParseFlags(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Notify.Webhooks, " ") != "http://env/a http://env/b" || c.Notify.WebhookRetryFor != 24*time.Hour ||
		c.Notify.EscalateCritical != 5*time.Minute || c.Notify.EscalateEmergency != 2*time.Minute {
		t.Fatalf("from the environment: %+v", c.Notify)
	}
	// The command line replaces the environment's list; repeated, it adds.
	c, err = ParseFlags([]string{"--webhook", "http://a/1", "--webhook", "http://a/2", "--escalate-critical", "0"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Notify.Webhooks, " ") != "http://a/1 http://a/2" || c.Notify.EscalateCritical != 0 {
		t.Fatalf("from flags: %+v", c.Notify)
	}
	delete(env, "CROWDRISK_WEBHOOK_SECRET")
	if _, err := ParseFlags(nil, getenv, io.Discard); err == nil || !strings.Contains(err.Error(), "CROWDRISK_WEBHOOK_SECRET") {
		t.Fatalf("without a secret: %v", err)
	}
	if _, err := ParseFlags([]string{"--webhook-unsigned"}, getenv, io.Discard); err != nil {
		t.Fatalf("unsigned on purpose: %v", err)
	}
	env["CROWDRISK_WEBHOOK_SECRET"] = "short"
	if _, err := ParseFlags(nil, getenv, io.Discard); err == nil {
		t.Fatal("a short secret was taken")
	}
}
