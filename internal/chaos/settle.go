package chaos

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"time"
)

// settle gives the screens time to catch up once the faults are healed and
// the workload has stopped: until every subscriber holds an id at or past
// the newest event in the store (2 s after the last change), or 30 s.
// What a screen still lacks after that is missing, not late.
func settle(ctx context.Context, e *deployment, subs []*subscriber) {
	driver, dsn := e.storeDSN()
	time.Sleep(2 * time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		st, err := readStore(ctx, driver, dsn)
		if err == nil {
			var newest string
			if n := len(st.Events); n > 0 {
				newest = sortedByID(st.Events)[n-1].ID.String()
			}
			behind := 0
			for _, s := range subs {
				if newest != "" && parseID(s.position()) < parseID(newest) {
					behind++
				}
			}
			if behind == 0 {
				time.Sleep(time.Second)
				return
			}
			e.logf("settling: %d of %d subscribers behind %s", behind, len(subs), newest)
		}
		time.Sleep(time.Second)
	}
}

func (e *deployment) storeDSN() (driver, dsn string) {
	if e.mode == "cluster" {
		return "pgx", e.pg.url("crowdrisk")
	}
	return "sqlite", "file:" + filepath.Join(e.insts[0].dataDir, "crowdrisk.db") + "?_pragma=busy_timeout(5000)"
}

func finalEmergencies(bases []string) []instEmergency {
	c := &http.Client{Timeout: 5 * time.Second}
	var out []instEmergency
	for _, b := range bases {
		ie := instEmergency{Instance: b}
		resp, err := c.Get(b + "/api/crowd-risk/emergency")
		if err != nil {
			ie.Body = err.Error()
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ie.Status, ie.Body = resp.StatusCode, string(body)
		}
		out = append(out, ie)
	}
	return out
}
