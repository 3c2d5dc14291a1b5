package chaos

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// roleSample is what every instance's /readyz said at one moment.
type roleSample struct {
	At    time.Time
	Roles []string // per instance: leader, follower, unknown, down
}

// pollRoles asks every instance for its role every 200 ms until ctx ends.
// An instance that does not answer within a second (killed, paused, stuck
// on a lock) is "down": it leads nobody. A second, not less, so that a
// starved test machine does not pass for a missing leader.
func pollRoles(ctx context.Context, bases []string) []roleSample {
	client := &http.Client{Timeout: time.Second}
	var out []roleSample
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		s := roleSample{At: time.Now(), Roles: make([]string, len(bases))}
		var wg sync.WaitGroup
		for i, b := range bases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Roles[i] = role(client, b)
			}()
		}
		wg.Wait()
		out = append(out, s)
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}

func role(c *http.Client, base string) string {
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return "down"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Role string `json:"role"`
	}
	if json.Unmarshal(b, &r) != nil || r.Role == "" {
		return "unknown"
	}
	return r.Role
}

// leader asks every instance now and returns the index of the one that
// says it leads, or -1.
func leader(bases []string) int {
	c := &http.Client{Timeout: time.Second}
	for i, b := range bases {
		if role(c, b) == "leader" {
			return i
		}
	}
	return -1
}
