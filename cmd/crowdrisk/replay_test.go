package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
)

// TestReplayCorridorThroughTheBinary replays the Jülich corridor experiment
// with the real `crowdrisk replay` into a real engine whose venue is the
// corridor's measurement area, and reads the judgement back from the
// streams: the zone climbs to warning and comes back to normal, and the
// watch alert the rules promise is raised and resolved.
func TestReplayCorridorThroughTheBinary(t *testing.T) {
	p := start(t, freeAddr(t), t.TempDir(), "--simulate=false", "--venue", "../../examples/corridor.json")
	density := openStream(t, p.base+"/api/crowd-risk/density-stream")
	alerts := openStream(t, p.base+"/api/crowd-risk/alert-stream")

	out, err := exec.Command(binary, "replay", "../../internal/replay/testdata/uo-180-180-120.txt",
		"--zone", "corridor", "--speed", "0", "--url", p.base).CombinedOutput()
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}

	var levels []string
	density.until(t, 10*time.Second, func(m sse.Message) bool {
		w := decodeMsg(t, m)
		if w.Type != "density" {
			return false
		}
		var r struct {
			Level string `json:"level"`
		}
		json.Unmarshal(w.Data, &r)
		if len(levels) == 0 || levels[len(levels)-1] != r.Level {
			levels = append(levels, r.Level)
		}
		return len(levels) > 1 && r.Level == "normal"
	})
	if got := strings.Join(levels, " "); got != "normal watch warning watch normal" {
		t.Fatalf("level sequence %q", got)
	}

	var story []string
	alerts.until(t, 10*time.Second, func(m sse.Message) bool {
		w := decodeMsg(t, m)
		if w.Type != "alert" {
			return false
		}
		var a wireAlert
		json.Unmarshal(w.Data, &a)
		story = append(story, a.Kind+" "+a.Level+" "+a.Status)
		return a.Status == "resolved"
	})
	if got := strings.Join(story, ", "); got != "density watch active, density watch resolved" {
		t.Fatalf("alerts %q", got)
	}
}
