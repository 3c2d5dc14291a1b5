package chaos

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// checkOps holds every operator command to its answer: a 2xx is in the
// store (row and event log) exactly once; a definite refusal changed
// nothing. Delivery of the events found here is checkDelivery's job.
func checkOps(o *observation, v *verdict) {
	st := o.Store
	byMessage := map[string][]string{}
	for id, a := range st.Alerts {
		byMessage[a.Message] = append(byMessage[a.Message], id)
	}
	alertEvents := map[string][]storedEvent{}
	for _, e := range st.Events {
		if e.Type == "alert" {
			var a struct{ ID string }
			json.Unmarshal(e.Data, &a)
			alertEvents[a.ID] = append(alertEvents[a.ID], e)
		}
	}
	for _, op := range o.Ops {
		v.Stats["ops "+op.Kind+" "+statusKey(op)]++
		switch op.Kind {
		case "test-alert":
			ids := byMessage[op.Arg]
			if len(ids) > 1 {
				v.add(vTwice, "test alert %q (answered %s) is %d alerts in the store: %v", op.Arg, statusKey(op), len(ids), ids)
			}
			if op.ok() {
				var a struct{ ID string }
				json.Unmarshal([]byte(op.Body), &a)
				if _, ok := st.Alerts[a.ID]; !ok {
					v.add(vLost, "test alert %s %q answered %d by %s at %s is not in the alerts table",
						a.ID, op.Arg, op.Status, op.Instance, clock(op.Start))
				} else if len(alertEvents[a.ID]) == 0 {
					v.add(vNoEvent, "test alert %s %q answered %d has no event in the log", a.ID, op.Arg, op.Status)
				}
			} else if op.Status >= 400 && op.Status != 409 && op.Status != 504 && len(ids) > 0 {
				// 409 is not a refusal here: a leader that finds a forwarded
				// command already carried out answers it so (issue 12); nor
				// is 504, which says the outcome is unknown.
				v.add(vRefused, "test alert %q answered %d %s by %s is in the store as %v",
					op.Arg, op.Status, trim(op.Body), op.Instance, ids)
			}
		case "ack":
			if !op.ok() {
				continue
			}
			// An escalation later makes an acknowledged alert active again
			// (a past acknowledgement was for a lesser danger), so the
			// table may no longer show it: the event log must.
			sa := st.Alerts[op.Arg]
			inTable := sa.AckBy != "" && (sa.Status == "acknowledged" || sa.Status == "resolved")
			inLog := false
			for _, e := range alertEvents[op.Arg] {
				var d struct{ AcknowledgedBy string }
				json.Unmarshal(e.Data, &d)
				inLog = inLog || d.AcknowledgedBy != ""
			}
			switch {
			case !inTable && !inLog:
				v.add(vLost, "acknowledge of %s answered %d by %s at %s: neither the table (status %q) nor the log shows it acknowledged",
					op.Arg, op.Status, op.Instance, clock(op.Start), sa.Status)
			case !inLog:
				v.add(vNoEvent, "acknowledge of %s answered %d: no event of the log shows it acknowledged", op.Arg, op.Status)
			}
		case "emergency-on":
			if op.ok() {
				checkEmergencyOn(op, st, v)
			}
		case "emergency-off":
			if op.ok() {
				checkEmergencyOff(op, st, v)
			}
		}
	}
}

func checkEmergencyOn(op op, st *storeState, v *verdict) {
	var m struct {
		Reason      string `json:"reason"`
		ActivatedAt int64  `json:"activatedAt"`
	}
	json.Unmarshal([]byte(op.Body), &m)
	row := false
	for _, e := range st.Emergency {
		row = row || (!e.Ended && e.Reason == m.Reason && e.ActivatedAt == m.ActivatedAt)
	}
	if !row {
		v.add(vLost, "emergency on %q answered %d by %s at %s: no emergency row with that reason and activation",
			m.Reason, op.Status, op.Instance, clock(op.Start))
		return
	}
	want := fmt.Sprintf("on(%q@%d)", m.Reason, m.ActivatedAt)
	for _, e := range st.Events {
		if e.Type == "emergency" && emergencyString(e.Data) == want {
			return
		}
	}
	v.add(vNoEvent, "emergency on %q answered %d: no emergency event in the log", m.Reason, op.Status)
}

// checkEmergencyOff: an end answered 2xx is an "off" event committed while
// the request ran (ids carry the host clock; 1 s of slack), unless mode
// was already off when it started.
func checkEmergencyOff(op op, st *storeState, v *verdict) {
	from, to := op.Start.Add(-time.Second).UnixMilli(), op.End.Add(time.Second).UnixMilli()
	state := "off"
	for _, e := range sortedByID(st.Events) {
		if e.Type != "emergency" {
			continue
		}
		ms := e.ID.Ms()
		if ms < op.Start.UnixMilli() {
			state = emergencyString(e.Data)
		}
		if ms >= from && ms <= to && emergencyString(e.Data) == "off" {
			return
		}
	}
	if state == "off" {
		return
	}
	v.add(vLost, "emergency off answered %d by %s at %s: mode was %s and no off event was committed",
		op.Status, op.Instance, clock(op.Start), state)
}

func statusKey(o op) string {
	if o.Status == 0 {
		return "no-answer"
	}
	return fmt.Sprint(o.Status)
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
