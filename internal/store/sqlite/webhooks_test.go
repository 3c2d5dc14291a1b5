package sqlite_test

import (
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/store/storetest"
)

func TestWebhookQueue(t *testing.T) {
	f := &files{paths: map[*testing.T]string{}}
	storetest.RunWebhooks(t, f.open)
}
