package chaos

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCampaign is the 60-second campaign of the test command: the real
// binary, real Redis and PostgreSQL, real faults (cluster 40 s, then single
// on SQLite 20 s). It fails on any violation; the report is in the log.
// The seed is fixed so a failure can be replayed with
// `crowdrisk chaos --seed 1`; CROWDRISK_CHAOS_SEED picks another.
func TestCampaign(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "crowdrisk")
	// Built without -race: the campaign runs four engines at once on the
	// test machine, and it checks what they promise, not data races.
	build := exec.Command("go", "build", "-o", bin, "../../cmd/crowdrisk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	seed := int64(1)
	if s := os.Getenv("CROWDRISK_CHAOS_SEED"); s != "" {
		var err error
		if seed, err = parseSeed(s); err != nil {
			t.Fatal(err)
		}
	}
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{Binary: bin, Duration: 60 * time.Second, Seed: seed,
		Mode: "both", Instances: 3, Lease: 3 * time.Second, Out: filepath.Join(dir, "out"), Log: &progress})
	t.Log("progress:\n" + progress.String())
	if res != nil {
		var report strings.Builder
		res.Print(&report)
		t.Log(report.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Modes {
		for kind, l := range m.Violations() {
			t.Errorf("%s: %d × %s, first: %s", m.Mode, len(l), kind, l[0])
		}
	}
}
