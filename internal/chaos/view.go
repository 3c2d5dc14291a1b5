package chaos

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// view is the picture a screen builds from the alert topic: the open
// alerts with their status, and emergency mode.
type view struct {
	alerts    map[string]string
	emergency string
}

func newView() *view { return &view{alerts: map[string]string{}, emergency: "off"} }

func (w *view) apply(typ string, data json.RawMessage) {
	switch typ {
	case "alert":
		var a struct{ ID, Status string }
		if json.Unmarshal(data, &a) != nil || a.ID == "" {
			return
		}
		if a.Status == "resolved" {
			delete(w.alerts, a.ID)
		} else {
			w.alerts[a.ID] = a.Status
		}
	case "emergency":
		w.emergency = emergencyString(data)
	}
}

func emergencyString(data json.RawMessage) string {
	var m *struct {
		Active      bool   `json:"active"`
		Reason      string `json:"reason"`
		ActivatedAt int64  `json:"activatedAt"`
	}
	if json.Unmarshal(data, &m) != nil || m == nil || !m.Active {
		return "off"
	}
	return fmt.Sprintf("on(%q@%d)", m.Reason, m.ActivatedAt)
}

// foldStore is the picture the store's event log gives up to id upTo.
func foldStore(evs []storedEvent, upTo event.ID) *view {
	w := newView()
	for _, e := range sortedByID(evs) {
		if e.ID > upTo {
			break
		}
		w.apply(e.Type, e.Data)
	}
	return w
}

func sortedByID(evs []storedEvent) []storedEvent {
	out := append([]storedEvent(nil), evs...)
	for i := 1; i < len(out); i++ { // almost always sorted already
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// diff describes how a differs from b ("" when equal).
func (w *view) diff(b *view) (string, int) {
	n, first := 0, ""
	note := func(s string) {
		if n == 0 {
			first = s
		}
		n++
	}
	for id, st := range w.alerts {
		if bs, ok := b.alerts[id]; !ok {
			note(fmt.Sprintf("shows alert %s %s, the store has it resolved or unknown", id, st))
		} else if bs != st {
			note(fmt.Sprintf("shows alert %s %s, the store has %s", id, st, bs))
		}
	}
	for id, st := range b.alerts {
		if _, ok := w.alerts[id]; !ok {
			note(fmt.Sprintf("does not show open alert %s (%s in the store)", id, st))
		}
	}
	if w.emergency != b.emergency {
		note(fmt.Sprintf("shows emergency %s, the store has %s", w.emergency, b.emergency))
	}
	return first, n
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(x, y)
}

func summary(typ string, data json.RawMessage) string {
	if typ == "emergency" {
		return "emergency " + emergencyString(data)
	}
	var a struct{ ID, Status, Level, ZoneID, Message string }
	json.Unmarshal(data, &a)
	return fmt.Sprintf("alert %s %s %s %s", a.ID, a.ZoneID, a.Level, a.Status)
}
