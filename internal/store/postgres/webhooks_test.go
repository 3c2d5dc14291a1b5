package postgres_test

import (
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/store/storetest"
)

func TestWebhookQueue(t *testing.T) {
	d := &databases{urls: map[*testing.T]string{}}
	storetest.RunWebhooks(t, d.open)
}
