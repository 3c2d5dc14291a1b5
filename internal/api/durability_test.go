package api

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

type dropPublisher struct{}

func (dropPublisher) Publish(...*event.Event) {}

// TestFullDiskAnswers503AndReadyzNamesTheStore: the real engine on a SQLite
// file in a tmpfs that is then filled. Operator commands answer 503 with
// the contract's JSON error naming the disk, /readyz answers 503 naming the
// store, and both recover once there is room.
func TestFullDiskAnswers503AndReadyzNamesTheStore(t *testing.T) {
	dir := testenv.Tmpfs(t, 4<<20)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var eng *engine.Engine
	e := start(t, false, func(o *Options) {
		zone := crowd.Zone{ID: "hall", Name: "Hall", Kind: crowd.Standing, AreaM2: 100, Capacity: 600}.WithDefaults()
		eng, err = engine.New(ctx, engine.Options{Venue: crowd.Venue{Name: "t", Zones: []crowd.Zone{zone}}, Store: s,
			Publisher: dropPublisher{}, Sequencer: event.NewSequencer(0, o.Now), Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		o.Engine = eng
		o.Ready = func(ctx context.Context) (map[string]any, error) { return nil, eng.Ready(ctx) }
	})
	var a crowd.Alert
	if r := e.do("POST", Prefix+"/testing/alert", `{"zoneId":"hall","level":"critical"}`); r.status/100 != 2 {
		t.Fatalf("test alert: %d %s", r.status, r.body)
	} else {
		r.decode(t, &a)
	}
	free := testenv.Fill(t, dir)
	for _, c := range []struct{ method, path, body string }{
		{"POST", Prefix + "/alerts/" + a.ID + "/acknowledge", ""},
		{"POST", Prefix + "/emergency", `{"reason":"crush","zoneIds":["hall"]}`},
		{"POST", Prefix + "/testing/alert", `{"zoneId":"hall","level":"warning"}`},
	} {
		r := e.do(c.method, c.path, c.body)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("%s %s on a full disk: %d %s", c.method, c.path, r.status, r.body)
		}
		if er := r.apiError(t); er.Code != crowd.ErrUnavailable || !strings.Contains(er.Message, "disk full") {
			t.Fatalf("%s %s: error %+v", c.method, c.path, er)
		}
	}
	r := e.do("GET", "/readyz", "")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "store: disk full since") {
		t.Fatalf("readyz on a full disk: %d %s", r.status, r.body)
	}
	if r := e.do("GET", Prefix+"/emergency", ""); strings.Contains(string(r.body), "crush") {
		t.Fatalf("a refused activation shows: %s", r.body)
	}
	free()
	if r := e.do("GET", "/readyz", ""); r.status != http.StatusOK {
		t.Fatalf("readyz once there is room: %d %s", r.status, r.body)
	}
	if r := e.do("POST", Prefix+"/alerts/"+a.ID+"/acknowledge", ""); r.status/100 != 2 {
		t.Fatalf("acknowledge once there is room: %d %s", r.status, r.body)
	}
}
