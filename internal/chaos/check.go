package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// observation is everything the checker judges: what the clients saw and
// did, what the store holds, and what the campaign did to the system.
type observation struct {
	Mode        string
	Ops         []op
	Subs        []*subscriber
	Store       *storeState
	Emergencies []instEmergency // GET /emergency of every instance at the end
	Roles       []roleSample
	Faults      []fault
	Lease       time.Duration
	Problems    []problem // from the campaign itself: restart failures, panics
}

type instEmergency struct {
	Instance string
	Status   int
	Body     string
}

type problem struct{ Kind, Text string }

// verdict is the checker's output.
type verdict struct {
	Violations map[string][]string
	Stats      map[string]int
}

func (v *verdict) add(kind, format string, args ...any) {
	v.Violations[kind] = append(v.Violations[kind], fmt.Sprintf(format, args...))
}

func (v *verdict) count() int {
	n := 0
	for _, l := range v.Violations {
		n += len(l)
	}
	return n
}

// Violation kinds, each the negation of a promise (docs/deployment.md).
const (
	vLost        = "2xx-not-stored"       // a 2xx command is not in the store
	vNoEvent     = "2xx-not-in-event-log" // stored but never an event: no screen can learn it
	vTwice       = "command-ran-twice"    // one request, two effects
	vRefused     = "refused-but-applied"  // a 4xx/5xx command took effect
	vMissed      = "event-missed"         // a committed alert change never reached a subscriber
	vDuplicate   = "event-duplicated"     // reached it twice without a reset between
	vOrder       = "event-out-of-order"   // ids went backwards without a reset between
	vNotStored   = "delivered-not-stored" // a subscriber saw an alert change the store does not hold
	vConflict    = "id-conflict"          // one id, two different events
	vNoReset     = "not-resumed-no-reset" // resumed=false and no reset: a silent stale view
	vStale       = "stale-view"           // a screen's final picture differs from the store
	vSnapshot    = "snapshot-not-store"   // a fresh or reset stream started from a state the store does not hold
	vLogTable    = "log-vs-table"         // the event log and the alerts/emergency tables disagree
	vStoreOrder  = "store-commit-order"   // ids not increasing in commit order (a fenced writer)
	vDiverged    = "emergency-diverged"   // instances disagree on emergency mode at the end
	vLeaderGap   = "leader-gap"           // no leader for longer than the lease + 2 s
	vProcess     = "process"              // panic, or an instance that would not restart
	vUnavailable = "store-unreadable"
)

func check(o *observation) *verdict {
	v := &verdict{Violations: map[string][]string{}, Stats: map[string]int{}}
	for _, p := range o.Problems {
		v.add(p.Kind, "%s", p.Text)
	}
	if o.Store == nil {
		v.add(vUnavailable, "the store could not be read at the end")
		return v
	}
	byID := map[event.ID]storedEvent{}
	for _, e := range o.Store.Events {
		byID[e.ID] = e
	}
	v.Stats["store alert events"] = len(o.Store.Events)
	v.Stats["store alerts"] = len(o.Store.Alerts)
	checkStoreOrder(o, v)
	checkLogVsTable(o, v)
	for _, s := range o.Subs {
		checkDelivery(s, o.Store, byID, v)
	}
	checkOps(o, v)
	checkEmergency(o, v)
	if o.Mode == "cluster" {
		checkLeaderGaps(o, v)
	}
	return v
}

// checkStoreOrder: ids must strictly increase in commit order. A leader
// that kept committing after it was fenced (paused past its lease) commits
// old ids after the new leader's: this is where it shows.
func checkStoreOrder(o *observation, v *verdict) {
	var prev event.ID
	for i, e := range o.Store.Events {
		if i > 0 && e.ID <= prev {
			v.add(vStoreOrder, "event %s (%s) committed after %s in %s", e.ID, summary(e.Type, e.Data), prev, o.Store.CommitOrder)
		}
		prev = e.ID
	}
}

// checkLogVsTable folds the event log and compares it with the tables a
// restarted engine restores from: both are the store's truth.
func checkLogVsTable(o *observation, v *verdict) {
	log := foldStore(o.Store.Events, ^event.ID(0))
	for id, a := range o.Store.Alerts {
		if a.Status == "resolved" {
			continue
		}
		if got, ok := log.alerts[id]; !ok {
			v.add(vLogTable, "alert %s is %s in the alerts table but not open in the event log", id, a.Status)
		} else if got != a.Status {
			v.add(vLogTable, "alert %s is %s in the alerts table, %s in the event log", id, a.Status, got)
		}
	}
	for id, st := range log.alerts {
		if a, ok := o.Store.Alerts[id]; !ok || a.Status == "resolved" {
			v.add(vLogTable, "alert %s is %s in the event log but %q in the alerts table", id, st, a.Status)
		}
	}
	table := tableEmergency(o.Store)
	if table != log.emergency {
		v.add(vLogTable, "emergency: table says %s, event log says %s", table, log.emergency)
	}
}

func tableEmergency(st *storeState) string {
	if len(st.Emergency) == 0 {
		return "off"
	}
	e := st.Emergency[len(st.Emergency)-1]
	if e.Ended || !e.Active {
		return "off"
	}
	return fmt.Sprintf("on(%q@%d)", e.Reason, e.ActivatedAt)
}

// examples keeps reports short.
func examples(l []string, n int) string {
	if len(l) > n {
		return strings.Join(l[:n], "\n    ") + fmt.Sprintf("\n    … and %d more", len(l)-n)
	}
	return strings.Join(l, "\n    ")
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
