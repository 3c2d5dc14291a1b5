package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

func TestZonesAndVenue(t *testing.T) {
	e := start(t, false, nil)
	var zones []map[string]any
	e.do("GET", Prefix+"/zones", "").decode(t, &zones)
	if len(zones) != 2 || zones[0]["id"] != "north-stand" || zones[0]["areaM2"] != 100.0 {
		t.Fatalf("zones %v", zones)
	}
	if _, ok := zones[0]["polygon"]; ok {
		t.Error("/zones carries the polygon; it belongs to /venue")
	}
	th, _ := zones[1]["thresholds"].(map[string]any)
	if th["watch"] != 1.1 || th["emergency"] != 4.0 {
		t.Errorf("moving zone thresholds %v", th)
	}
	var venue struct {
		Name  string       `json:"name"`
		Zones []crowd.Zone `json:"zones"`
	}
	e.do("GET", Prefix+"/venue", "").decode(t, &venue)
	if venue.Name != "Test Arena" || len(venue.Zones[0].Polygon) != 3 {
		t.Fatalf("venue %+v", venue)
	}
}

func TestDensityAndHistory(t *testing.T) {
	e := start(t, false, nil)
	r := e.do("GET", Prefix+"/density", "")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("empty density: %d %s", r.status, r.body)
	}
	// Two readings: one alone is not believed (crowd's smoothing).
	e.do("POST", Prefix+"/readings", `[{"zoneId":"gate-a","density":2.5},{"zoneId":"gate-a","density":2.5}]`)
	var latest []crowd.DensityReading
	e.do("GET", Prefix+"/density", "").decode(t, &latest)
	if len(latest) != 1 || latest[0].Level != crowd.Warning {
		t.Fatalf("latest %+v", latest)
	}
	var hist []crowd.DensityReading
	e.do("GET", Prefix+"/density/history?zoneId=gate-a&minutes=15", "").decode(t, &hist)
	if len(hist) != 1 || e.engine.lastCall() != "History gate-a 15m0s" {
		t.Fatalf("history %+v, call %q", hist, e.engine.lastCall())
	}
	e.do("GET", Prefix+"/density/history?zoneId=gate-a", "")
	if c := e.engine.lastCall(); c != "History gate-a 10m0s" {
		t.Fatalf("default window: %q", c)
	}
	wantError(t, e.do("GET", Prefix+"/density/history", ""), 400, "invalid", "zoneId")
	wantError(t, e.do("GET", Prefix+"/density/history?zoneId=moon", ""), 400, "invalid", "zoneId")
	for _, m := range []string{"0", "-1", "abc", "99999", "1.5"} {
		wantError(t, e.do("GET", Prefix+"/density/history?zoneId=gate-a&minutes="+m, ""), 400, "invalid", "minutes")
	}
}

func TestAlertsListAndAcknowledge(t *testing.T) {
	e := start(t, false, nil)
	count := func(q string) int {
		var as []crowd.Alert
		r := e.do("GET", Prefix+"/alerts"+q, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		r.decode(t, &as)
		return len(as)
	}
	for q, want := range map[string]int{"": 2, "?status=open": 1, "?status=resolved": 1, "?status=active&zoneId=gate-a": 0, "?zoneId=gate-a&limit=5": 1} {
		if n := count(q); n != want {
			t.Errorf("alerts%s: %d, want %d", q, n, want)
		}
	}
	if r := e.do("GET", Prefix+"/alerts?status=active&zoneId=gate-a", ""); strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("no alerts must be [], got %s", r.body)
	}
	wantError(t, e.do("GET", Prefix+"/alerts?status=muted", ""), 400, "invalid", "status")
	wantError(t, e.do("GET", Prefix+"/alerts?limit=0", ""), 400, "invalid", "limit")
	wantError(t, e.do("GET", Prefix+"/alerts?limit=5000", ""), 400, "invalid", "limit")
	wantError(t, e.do("GET", Prefix+"/alerts?zoneId=moon", ""), 400, "invalid", "zoneId")

	var a crowd.Alert
	r := e.do("POST", Prefix+"/alerts/a1/acknowledge", "")
	r.decode(t, &a)
	if r.status != 200 || a.Status != crowd.StatusAcknowledged || a.AcknowledgedBy != "local" {
		t.Fatalf("acknowledge: %d %+v", r.status, a)
	}
	wantError(t, e.do("POST", Prefix+"/alerts/nope/acknowledge", ""), 404, "not_found", "id")
}

func TestEmergency(t *testing.T) {
	e := start(t, false, nil)
	r := e.do("GET", Prefix+"/emergency", "")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "null" {
		t.Fatalf("no emergency: %d %s", r.status, r.body)
	}
	var m crowd.EmergencyMode
	r = e.do("POST", Prefix+"/emergency", `{"reason":"crush at gate A","zoneIds":["gate-a"]}`)
	r.decode(t, &m)
	if r.status != 200 || !m.Active || m.Reason != "crush at gate A" || m.ActivatedBy != "local" || m.ZoneIDs[0] != "gate-a" {
		t.Fatalf("activate: %d %+v", r.status, m)
	}
	e.do("GET", Prefix+"/emergency", "").decode(t, &m)
	if !m.Active {
		t.Fatal("GET after activate shows none")
	}
	r = e.do("DELETE", Prefix+"/emergency", "")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "null" || e.engine.Emergency() != nil {
		t.Fatalf("end: %d %s", r.status, r.body)
	}
	// Without zones, zoneIds is [] (never null) for the engine.
	e.do("POST", Prefix+"/emergency", `{"reason":"fire"}`)
	if c := e.engine.lastCall(); c != "ActivateEmergency fire [] local" {
		t.Fatalf("call %q", c)
	}
	wantError(t, e.do("POST", Prefix+"/emergency", `{}`), 400, "invalid", "reason")
	wantError(t, e.do("POST", Prefix+"/emergency", `{"reason":"   "}`), 400, "invalid", "reason")
	wantError(t, e.do("POST", Prefix+"/emergency", `{"reason":"x","zoneIds":["gate-a","moon"]}`), 400, "invalid", "zoneIds[1]")
	wantError(t, e.do("POST", Prefix+"/emergency", `{"reason":"x","zoneIds":"gate-a"}`), 400, "invalid", "zoneIds")
	wantError(t, e.do("POST", Prefix+"/emergency", `{"reason":"x","why":1}`), 400, "invalid", "why")
	wantError(t, e.do("POST", Prefix+"/emergency", `{"reason":"`+strings.Repeat("x", 501)+`"}`), 400, "invalid", "reason")
	wantError(t, e.do("POST", Prefix+"/emergency", `{"reason":"x"}{}`), 400, "invalid", "")
}

func TestTestingControls(t *testing.T) {
	e := start(t, false, nil)
	var got struct {
		Readings []crowd.DensityReading `json:"readings"`
		Alerts   []crowd.Alert          `json:"alerts"`
	}
	r := e.do("POST", Prefix+"/testing/violation", `{"zoneId":"north-stand","level":"critical"}`)
	r.decode(t, &got)
	// The zone is held in the critical band (4.7-6.0 for a standing zone);
	// its alert comes after the real dwell, so none comes back at once.
	if r.status != 200 || len(got.Readings) != 1 || got.Alerts == nil || len(got.Alerts) != 0 ||
		got.Readings[0].Density < 4.7 || got.Readings[0].Density >= 6 || e.engine.lastCall() != "TriggerViolation north-stand critical local" {
		t.Fatalf("violation: %d %s (%s)", r.status, r.body, e.engine.lastCall())
	}
	e.do("POST", Prefix+"/testing/breach", `{"zoneId":"gate-a","level":"warning"}`)
	if c := e.engine.lastCall(); c != "TriggerBreach gate-a warning local" {
		t.Fatalf("breach: %q", c)
	}
	var a crowd.Alert
	r = e.do("POST", Prefix+"/testing/alert", `{"zoneId":"gate-a","level":"emergency","message":"drill"}`)
	r.decode(t, &a)
	if r.status != 200 || a.Kind != crowd.KindTest || a.Message != "drill" {
		t.Fatalf("test alert: %d %+v", r.status, a)
	}
	for _, c := range []struct{ path, body, field string }{
		{"violation", `{"level":"warning"}`, "zoneId"},
		{"violation", `{"zoneId":"moon","level":"warning"}`, "zoneId"},
		{"violation", `{"zoneId":"gate-a"}`, "level"},
		{"breach", `{"zoneId":"gate-a","level":"purple"}`, "level"},
		{"breach", `{"zoneId":"gate-a","level":3}`, "level"},
		{"breach", `{"zoneId":"gate-a","level":"watch","message":"x"}`, "message"},
		{"alert", `{"zoneId":"gate-a","level":"watch","extra":true}`, "extra"},
	} {
		wantError(t, e.do("POST", Prefix+"/testing/"+c.path, c.body), 400, "invalid", c.field)
	}
}

func TestIncidentsAndCSV(t *testing.T) {
	e := start(t, false, nil)
	warn := crowd.Warning
	tricky := []crowd.Incident{
		{Seq: 1, Timestamp: t0.UnixMilli(), Kind: crowd.IncidentAlert, ZoneID: "gate-a", AlertID: "a1", Level: &warn, Actor: "engine", Message: `density 2.5, "rising"` + "\nsecond line"},
		{Seq: 2, Timestamp: t0.UnixMilli() + 1000, Kind: crowd.IncidentAcknowledge, ZoneID: "gate-a", Actor: "=HYPERLINK(\"http://evil\")", Message: "+1 -1 @SUM(A1)"},
		{Seq: 3, Timestamp: t0.UnixMilli() + 2000, Kind: crowd.IncidentEmergency, Actor: "@ops", Message: "-ended"},
	}
	e.engine.commit(t, store.Batch{Incidents: tricky})

	var list []crowd.Incident
	e.do("GET", Prefix+"/incidents?zoneId=gate-a", "").decode(t, &list)
	if len(list) != 2 {
		t.Fatalf("zone filter: %d", len(list))
	}
	e.do("GET", fmt.Sprintf("%s/incidents?since=%d&until=%d", Prefix, t0.UnixMilli()+1, t0.UnixMilli()+2000), "").decode(t, &list)
	if len(list) != 1 || list[0].Seq != 2 {
		t.Fatalf("time filter: %+v", list)
	}
	wantError(t, e.do("GET", Prefix+"/incidents?since=10&until=5", ""), 400, "invalid", "until")
	wantError(t, e.do("GET", Prefix+"/incidents?since=yesterday", ""), 400, "invalid", "since")

	r := e.do("GET", Prefix+"/incidents.csv", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse: %v\n%s", err, r.body)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("rows %q", rows)
	}
	if rows[1][8] != `density 2.5, "rising"`+"\nsecond line" || rows[1][6] != "warning" || rows[1][2] != "2025-11-27T19:00:00Z" {
		t.Errorf("row 1 %q", rows[1])
	}
	if rows[2][7] != `'=HYPERLINK("http://evil")` || rows[2][8] != "'+1 -1 @SUM(A1)" {
		t.Errorf("formula not neutralised: %q", rows[2])
	}
	if rows[3][7] != "'@ops" || rows[3][8] != "'-ended" || rows[3][4] != "" {
		t.Errorf("row 3 %q", rows[3])
	}
}

func TestCSVExportPagesThroughEverything(t *testing.T) {
	e := start(t, false, nil)
	var many []crowd.Incident
	for i := range 12345 {
		many = append(many, crowd.Incident{Timestamp: t0.UnixMilli() + int64(i), Kind: crowd.IncidentLevel, ZoneID: "gate-a", Message: "m"})
	}
	e.engine.commit(t, store.Batch{Incidents: many})
	rows, err := csv.NewReader(strings.NewReader(string(e.do("GET", Prefix+"/incidents.csv", "").body))).ReadAll()
	if err != nil || len(rows) != 12346 || rows[12345][0] != "12345" {
		t.Fatalf("%v: %d rows", err, len(rows))
	}
	rows, _ = csv.NewReader(strings.NewReader(string(e.do("GET", Prefix+"/incidents.csv?limit=7", "").body))).ReadAll()
	if len(rows) != 8 {
		t.Fatalf("limit=7 gave %d rows", len(rows))
	}
}

func TestClientErrors(t *testing.T) {
	e := start(t, false, nil)
	body := `{"category":"sse-connection","message":"stream closed","context":{"stream":"density","attempt":3}}`
	if r := e.do("POST", Prefix+"/client-errors", body); r.status != 204 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var logged map[string]any
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"client error"`) {
			json.Unmarshal([]byte(line), &logged)
		}
	}
	ctx, _ := logged["context"].(map[string]any)
	if logged["category"] != "sse-connection" || logged["message"] != "stream closed" || ctx["attempt"] != 3.0 ||
		!strings.HasPrefix(fmt.Sprint(logged["client"]), "ip:127.0.0.1") || logged["level"] != "WARN" {
		t.Fatalf("log line %v\n%s", logged, e.logs.String())
	}
	wantError(t, e.do("POST", Prefix+"/client-errors", `{"category":"Free Text!","message":"x"}`), 400, "invalid", "category")
	wantError(t, e.do("POST", Prefix+"/client-errors", `{"category":"sse-parse"}`), 400, "invalid", "message")
	wantError(t, e.do("POST", Prefix+"/client-errors", `{"category":"sse-parse","message":"`+strings.Repeat("x", 20000)+`"}`), 413, "too_large", "")

	// 10 in a burst (4 used above), then 429 until a second passes.
	for i := 0; i < 6; i++ {
		if r := e.do("POST", Prefix+"/client-errors", body); r.status != 204 {
			t.Fatalf("report %d: %d", i, r.status)
		}
	}
	r := e.do("POST", Prefix+"/client-errors", body)
	wantError(t, r, 429, "rate_limited", "")
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	e.clock.Advance(1000e6)
	if r := e.do("POST", Prefix+"/client-errors", body); r.status != 204 {
		t.Fatalf("after a second: %d", r.status)
	}
}

func TestInternalErrorsAreLoggedNotLeaked(t *testing.T) {
	e := start(t, false, nil)
	e.engine.fail(errBoom)
	r := e.do("GET", Prefix+"/alerts", "")
	ce := wantError(t, r, 500, "internal", "")
	if strings.Contains(ce.Message, "10.0.0.7") || !strings.Contains(ce.Message, r.header.Get("X-Request-Id")) {
		t.Fatalf("message %q", ce.Message)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "10.0.0.7") || !strings.Contains(logs, r.header.Get("X-Request-Id")) {
		t.Fatalf("not logged with its request id:\n%s", logs)
	}
	// A client mistake is logged at debug, not error.
	e.engine.fail(nil)
	before := strings.Count(e.logs.String(), `"level":"ERROR"`)
	e.do("GET", Prefix+"/alerts?status=bogus", "")
	if strings.Count(e.logs.String(), `"level":"ERROR"`) != before {
		t.Fatal("a 400 was logged at error level")
	}
	// An engine *crowd.Error keeps its code.
	e.engine.fail(&store.UnavailableError{Err: errors.New("dial tcp 127.0.0.1:5432: connection refused")})
	if r := e.do("GET", Prefix+"/alerts", ""); r.status != http.StatusServiceUnavailable || strings.Contains(string(r.body), "5432") {
		t.Fatalf("a store that cannot be reached: %d %s, want 503 without the details", r.status, r.body)
	}
	e.engine.fail(crowd.Errorf(crowd.ErrUnavailable, "store down"))
	wantError(t, e.do("GET", Prefix+"/alerts", ""), 503, "unavailable", "")
	e.engine.fail(&crowd.Error{Code: crowd.ErrConflict, Message: "x"})
	wantError(t, e.do("GET", Prefix+"/incidents.csv", ""), 409, "conflict", "")
}

func TestStatusMapping(t *testing.T) {
	for code, want := range map[string]int{
		crowd.ErrInvalid: 400, crowd.ErrUnauthorized: 401, crowd.ErrForbidden: 403, crowd.ErrNotFound: 404,
		crowd.ErrConflict: 409, crowd.ErrTooLarge: 413, crowd.ErrRateLimited: 429, crowd.ErrUnavailable: 503,
		crowd.ErrInternal: 500, "something-new": 500, codeMethodNotAllowed: 405,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("%s -> %d, want %d", code, got, want)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var ready error
	e := start(t, true, func(o *Options) {
		o.Ready = func(context.Context) (map[string]any, error) { return map[string]any{"role": "leader"}, ready }
	})
	if r := e.do("GET", "/healthz", ""); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	if r := e.do("GET", "/readyz", ""); r.status != 200 || !strings.Contains(string(r.body), `"ready"`) || !strings.Contains(string(r.body), `"role":"leader"`) {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	ready = errors.Join(errors.New("store: ping failed"), errors.New("redis: connection refused"))
	r := e.do("GET", "/readyz", "")
	var body map[string]string
	r.decode(t, &body)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(body["error"], "redis: connection refused") || !strings.Contains(body["error"], "store") {
		t.Fatalf("not ready: %d %v", r.status, body)
	}
	if r := e.do("GET", "/healthz", ""); r.status != 200 {
		t.Fatalf("healthz while not ready: %d", r.status)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("no engine accepted")
	}
	if _, err := New(Options{Engine: newSpyEngine(t, func() time.Time { return t0 }), AllowedOrigins: []string{"not an origin"}}); err == nil {
		t.Error("bad origin accepted")
	}
	clash := webFunc(func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/crowd-risk/zones", func(http.ResponseWriter, *http.Request) {})
	})
	if _, err := New(Options{Engine: newSpyEngine(t, func() time.Time { return t0 }), Web: clash}); err == nil {
		t.Error("a route clash was not reported")
	}
}

type webFunc func(*http.ServeMux)

func (f webFunc) Register(mux *http.ServeMux) { f(mux) }

func TestPanicBecomes500(t *testing.T) {
	e := start(t, false, func(o *Options) {
		o.Web = webFunc(func(mux *http.ServeMux) {
			mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("nil map write") })
		})
	})
	wantError(t, e.do("GET", "/boom", ""), 500, "internal", "")
	if !strings.Contains(e.logs.String(), "nil map write") {
		t.Fatal("panic not logged")
	}
	if r := e.do("GET", "/healthz", ""); r.status != 200 {
		t.Fatal("server unhealthy after a panic")
	}
}
