package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// drillLog records the test alerts an instance answered 2xx: each is a
// promise that the alert is stored.
type drillLog struct {
	mu       sync.Mutex
	promised map[string]string // alert id -> instance
	statuses map[int]int
}

func (d *drillLog) raise(p *proc, client *http.Client, i int) int {
	body := strings.NewReader(fmt.Sprintf(`{"zoneId":"gate-a","level":"warning","message":"drill %d"}`, i))
	resp, err := client.Post(p.base+"/api/crowd-risk/testing/alert", "application/json", body)
	if err != nil {
		d.count(0)
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	d.count(resp.StatusCode)
	if resp.StatusCode/100 == 2 {
		var a struct{ ID string }
		json.Unmarshal(b, &a)
		d.mu.Lock()
		d.promised[a.ID] = p.base
		d.mu.Unlock()
	}
	return resp.StatusCode
}

func (d *drillLog) count(code int) {
	d.mu.Lock()
	d.statuses[code]++
	d.mu.Unlock()
}

// TestPausedLeaderStallsNothingAndPromisesNothingFalse (issue 12): a leader
// stopped (SIGSTOP) for longer than its lease, under load, possibly inside a
// commit. The other instance takes over and commits at once (no lock the
// paused one holds can stall it); after SIGCONT the old leader never
// answers 2xx for work that is not stored; every 2xx anywhere is stored.
func TestPausedLeaderStallsNothingAndPromisesNothingFalse(t *testing.T) {
	r := testenv.Redis(t)
	ps := startCluster(t, 2, r.URL())
	lead := waitLeader(t, ps, 10*time.Second)
	other := ps[0]
	if other == lead {
		other = ps[1]
	}
	d := &drillLog{promised: map[string]string{}, statuses: map[int]int{}}
	client := &http.Client{Timeout: 10 * time.Second}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // load on the leader, paused in the middle of it
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			d.raise(lead, client, i)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	if err := lead.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			lead.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	// The other instance leads within the lease (3 s) and a renew, and its
	// commits go through: no lock of the paused one holds them.
	next := waitLeader(t, []*proc{other}, 10*time.Second)
	t.Logf("takeover %s after the pause", time.Since(paused).Round(time.Millisecond))
	deadline := time.Now().Add(8 * time.Second)
	ok := 0
	for i := 0; ok < 5 && time.Now().Before(deadline); i++ {
		if d.raise(next, client, 100000+i)/100 == 2 {
			ok++
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ok < 5 {
		t.Fatalf("the new leader committed %d test alerts in 8 s while the old one was paused: %v", ok, d.statuses)
	}
	if rz := next.readyz(t); rz.code != 200 {
		t.Fatalf("the new leader's /readyz: %+v", rz)
	}
	time.Sleep(time.Until(paused.Add(6 * time.Second)))
	resume()
	time.Sleep(3 * time.Second) // the old leader wakes up with requests in flight, and takes more
	close(stop)
	wg.Wait()

	var stored []wireAlert
	next.getJSON(t, "/api/crowd-risk/alerts?limit=1000", &stored)
	if len(stored) == 1000 {
		t.Fatal("more alerts than one page: lower the load")
	}
	have := map[string]bool{}
	for _, a := range stored {
		have[a.ID] = true
	}
	var lost []string
	for id, who := range d.promised {
		if !have[id] {
			lost = append(lost, id+" (answered by "+who+")")
		}
	}
	t.Logf("answers: %v; %d promised, %d stored", d.statuses, len(d.promised), len(stored))
	if len(lost) > 0 {
		t.Fatalf("%d test alerts answered 2xx are not in the store: %v", len(lost), lost)
	}
}
