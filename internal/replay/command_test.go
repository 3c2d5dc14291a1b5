package replay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

func testCommand(env map[string]string, now time.Time, slept *[]time.Duration) command {
	return command{
		now: func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error {
			*slept = append(*slept, d)
			return nil
		},
		getenv: func(k string) string { return env[k] },
	}
}

func TestRunDryRunTrajectories(t *testing.T) {
	now := time.Date(2025, 11, 27, 18, 0, 0, 0, time.UTC)
	var slept []time.Duration
	var out, errOut bytes.Buffer
	c := testCommand(nil, now, &slept)
	if err := c.run(context.Background(), []string{"--zone", "corridor", "--dry-run", "--hold", "10s", corridorFile}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	// The dry run prints a CSV the replay reads back.
	r, err := ParseCSV(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 82+10 {
		t.Errorf("%d readings, want 82 seconds plus a 10 s hold", len(r))
	}
	if last := *r[len(r)-1].Timestamp; last != now.UnixMilli() {
		t.Errorf("last timestamp %d, want now (%d): a replay never sends the future", last, now.UnixMilli())
	}
	peak := 0.0
	for _, x := range r {
		if x.ZoneID != "corridor" {
			t.Fatalf("zone %q", x.ZoneID)
		}
		peak = max(peak, *x.Density)
	}
	if peak < 2.3 || peak > 2.9 {
		t.Errorf("peak %.2f over the default classic area, want about 2.6", peak)
	}
	if !strings.Contains(errOut.String(), "170 persons") || len(slept) != 0 {
		t.Errorf("stderr %q, slept %v", errOut.String(), slept)
	}

	// A larger area, in metres, holds fewer persons per m².
	out.Reset()
	if err := c.run(context.Background(), []string{"--zone", "c", "--dry-run", "--area", "0,-4,1.8,4", corridorFile}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	r, _ = ParseCSV(&out)
	widePeak := 0.0
	for _, x := range r {
		widePeak = max(widePeak, *x.Density)
	}
	if widePeak >= peak {
		t.Errorf("whole corridor peak %.2f not below the measurement area's %.2f", widePeak, peak)
	}
}

func TestRunPostsToEngine(t *testing.T) {
	srv := newIngestServer(t)
	now := time.Date(2025, 11, 27, 18, 0, 0, 0, time.UTC)
	var slept []time.Duration
	c := testCommand(map[string]string{"CROWDRISK_TOKEN": "from-env"}, now, &slept)
	c.client = srv.Client()

	csvPath := filepath.Join(t.TempDir(), "readings.txt") // no .csv: guessed from the header
	os.WriteFile(csvPath, []byte("timestamp,zoneId,count\n1000,a,5\n1000,b,6\n3000,a,7\n"), 0o600)
	var out, errOut bytes.Buffer
	if err := c.run(context.Background(), []string{"--url", srv.URL, "--speed", "2", csvPath}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if len(srv.batches) != 2 || len(srv.batches[0]) != 2 || *srv.batches[1][0].Count != 7 {
		t.Fatalf("batches %+v", srv.batches)
	}
	if srv.auth[0] != "Bearer from-env" {
		t.Errorf("Authorization %q, want the CROWDRISK_TOKEN", srv.auth[0])
	}
	if len(slept) != 1 || slept[0] != time.Second {
		t.Errorf("slept %v, want one 1 s wait (2 s gap at speed 2)", slept)
	}

	// Trajectories as fast as possible, with the token flag winning.
	srv.batches, srv.auth = nil, nil
	slept = nil
	if err := c.run(context.Background(), []string{"--url", srv.URL, "--token", "flag", "--zone", "corridor", "--speed", "0", "--hold", "0s", corridorFile}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if len(srv.batches) != 82 || srv.auth[0] != "Bearer flag" || len(slept) != 0 {
		t.Fatalf("%d batches, auth %q, slept %v", len(srv.batches), srv.auth[0], slept)
	}

	// The engine's refusal comes back with its field.
	srv.batches = nil
	err := c.run(context.Background(), []string{"--url", srv.URL, "--zone", "nope", "--speed", "0", corridorFile}, &out, &errOut)
	var ce *crowd.Error
	if !errors.As(err, &ce) || ce.Field != "readings[0].zoneId" || !strings.Contains(err.Error(), "after 0 of") {
		t.Fatalf("error %v", err)
	}
}

func TestFlagsMayFollowTheFile(t *testing.T) {
	now := time.Date(2025, 11, 27, 18, 0, 0, 0, time.UTC)
	var slept []time.Duration
	var before, after, errOut bytes.Buffer
	c := testCommand(nil, now, &slept)
	if err := c.run(context.Background(), []string{"--zone", "corridor", "--dry-run", corridorFile}, &before, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := c.run(context.Background(), []string{corridorFile, "--zone", "corridor", "--dry-run"}, &after, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if before.String() != after.String() || before.Len() == 0 {
		t.Fatal("flags after the file were not read")
	}
}

func TestRunUsageErrors(t *testing.T) {
	var slept []time.Duration
	c := testCommand(nil, time.Now(), &slept)
	for _, tt := range []struct {
		args  []string
		field string
	}{
		{[]string{}, "FILE"},
		{[]string{"--zone", "z", corridorFile, corridorFile}, "FILE"},
		{[]string{corridorFile}, "zone"},
		{[]string{"--zone", "z", "--format", "xml", corridorFile}, "format"},
		{[]string{"--zone", "z", "--unit", "ft", corridorFile}, "unit"},
		{[]string{"--zone", "z", "--speed", "-1", corridorFile}, "speed"},
	} {
		var out, errOut bytes.Buffer
		err := c.run(context.Background(), tt.args, &out, &errOut)
		var ce *crowd.Error
		if !errors.As(err, &ce) || !strings.HasSuffix(ce.Field, tt.field) {
			t.Errorf("%v: error %v, want one naming %q", tt.args, err, tt.field)
		}
	}
	var out, errOut bytes.Buffer
	if err := c.run(context.Background(), []string{"--area", "1,2,3", corridorFile}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "x0,y0,x1,y1") {
		t.Errorf("bad area: %v", err)
	}
	if err := c.run(context.Background(), []string{"-h"}, &out, &errOut); err != nil || !strings.Contains(errOut.String(), "crowdrisk replay") {
		t.Errorf("help: %v, %q", err, errOut.String())
	}
}
