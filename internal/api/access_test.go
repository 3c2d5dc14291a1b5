package api

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/golang-jwt/jwt/v5"
)

// sample is a request that succeeds on a route for a caller allowed to use
// it, and the status it then gets.
type sample struct {
	method, path, body string
	ok                 int
}

// samples has one entry per route of the table; TestRouteRoleMatrix fails if
// a route has none, so that no route escapes the access test.
func samples(e *env) map[string]sample {
	admin := e.token("admin")
	return map[string]sample{
		"GET /healthz":                                {"GET", "/healthz", "", 200},
		"GET /readyz":                                 {"GET", "/readyz", "", 200},
		"GET /metrics":                                {"GET", "/metrics", "", 200},
		"POST /api/auth/session":                      {"POST", "/api/auth/session", `{"token":"` + admin + `"}`, 200},
		"DELETE /api/auth/session":                    {"DELETE", "/api/auth/session", "", 204},
		"GET /api/auth/me":                            {"GET", "/api/auth/me", "", 200},
		"GET " + Prefix + "/zones":                    {"GET", Prefix + "/zones", "", 200},
		"GET " + Prefix + "/venue":                    {"GET", Prefix + "/venue", "", 200},
		"POST " + Prefix + "/readings":                {"POST", Prefix + "/readings", `{"zoneId":"gate-a","density":1.2}`, 202},
		"GET " + Prefix + "/density":                  {"GET", Prefix + "/density", "", 200},
		"GET " + Prefix + "/density/history":          {"GET", Prefix + "/density/history?zoneId=gate-a&minutes=5", "", 200},
		"GET " + Prefix + "/alerts":                   {"GET", Prefix + "/alerts?status=open", "", 200},
		"POST " + Prefix + "/alerts/{id}/acknowledge": {"POST", Prefix + "/alerts/a1/acknowledge", "", 200},
		"GET " + Prefix + "/emergency":                {"GET", Prefix + "/emergency", "", 200},
		"POST " + Prefix + "/emergency":               {"POST", Prefix + "/emergency", `{"reason":"drill","zoneIds":["gate-a"]}`, 200},
		"DELETE " + Prefix + "/emergency":             {"DELETE", Prefix + "/emergency", "", 200},
		"GET " + Prefix + "/incidents":                {"GET", Prefix + "/incidents", "", 200},
		"GET " + Prefix + "/incidents.csv":            {"GET", Prefix + "/incidents.csv", "", 200},
		"POST " + Prefix + "/client-errors":           {"POST", Prefix + "/client-errors", `{"category":"sse-parse","message":"bad frame"}`, 204},
		"POST " + Prefix + "/testing/violation":       {"POST", Prefix + "/testing/violation", `{"zoneId":"gate-a","level":"warning"}`, 200},
		"POST " + Prefix + "/testing/breach":          {"POST", Prefix + "/testing/breach", `{"zoneId":"gate-a","level":"critical"}`, 200},
		"POST " + Prefix + "/testing/alert":           {"POST", Prefix + "/testing/alert", `{"zoneId":"gate-a","level":"watch","message":"hello"}`, 200},
		"GET " + Prefix + "/stream":                   {"GET", Prefix + "/stream?topics=density", "", 200},
		"GET " + Prefix + "/density-stream":           {"GET", Prefix + "/density-stream", "", 200},
		"GET " + Prefix + "/alert-stream":             {"GET", Prefix + "/alert-stream", "", 200},
	}
}

// badTokens are tokens no route may accept.
func badTokens(e *env) map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	expired, _ := auth.Mint(testSecret, "late", "admin", time.Minute, func() time.Time { return t0.Add(-time.Hour) })
	otherKey, _ := auth.Mint([]byte("some-other-secret-some-other-secret!"), "forger", "admin", time.Hour, e.clock.Now)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{
		"sub": "forger", "role": "admin", "exp": t0.Add(time.Hour).Unix(),
	}).SignedString(testSecret)
	return map[string]string{
		"expired":     expired,
		"other key":   otherKey,
		"alg none":    b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"forger","role":"admin","exp":9999999999}`)) + ".",
		"HS512":       hs512,
		"not a token": "hello",
	}
}

func TestRouteRoleMatrix(t *testing.T) {
	e := start(t, true, func(o *Options) { o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}) })
	table := (&server{opts: Options{Engine: e.engine, Streams: fakeStreams{}, TestingEnabled: true, Metrics: http.NotFoundHandler()}}).routes()
	ss := samples(e)
	if len(ss) != len(table) {
		t.Errorf("%d samples for %d routes", len(ss), len(table))
	}
	roles := []auth.Role{auth.Viewer, auth.Operator, auth.Sensor, auth.Admin}
	bad := badTokens(e)
	for _, rt := range table {
		s, ok := ss[rt.pattern]
		if !ok {
			t.Errorf("route %s has no sample request", rt.pattern)
			continue
		}
		t.Run(rt.pattern, func(t *testing.T) {
			// No token at all.
			r := e.do(s.method, s.path, s.body)
			if rt.need == public {
				if r.status != s.ok {
					t.Fatalf("public route without token: %d %s", r.status, r.body)
				}
			} else {
				wantError(t, r, 401, "unauthorized", "")
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
			for name, tok := range bad {
				r := e.do(s.method, s.path, s.body, "Authorization", "Bearer "+tok)
				if rt.need == public {
					if r.status != s.ok {
						t.Errorf("public route with %s token: %d", name, r.status)
					}
					continue
				}
				if r.status != 401 {
					t.Errorf("%s token: status %d, want 401: %s", name, r.status, r.body)
				}
			}
			for _, role := range roles {
				r := e.do(s.method, s.path, s.body, "Authorization", "Bearer "+e.token(string(role)))
				want := s.ok
				if rt.need != public && !role.Allows(rt.need) {
					want = 403
				}
				if r.status != want {
					t.Errorf("role %s: status %d, want %d: %s", role, r.status, want, r.body)
				}
				if want == 403 {
					wantError(t, r, 403, "forbidden", "")
				}
			}
		})
	}
}

// The table itself is the policy; pin its important lines so that a change
// to who may do what is a deliberate one.
func TestRouteTablePolicy(t *testing.T) {
	table := (&server{opts: Options{Engine: newSpyEngine(t, time.Now), Streams: fakeStreams{}, TestingEnabled: true}}).routes()
	need := map[string]auth.Role{}
	for _, rt := range table {
		need[rt.pattern] = rt.need
	}
	want := map[string]auth.Role{
		"POST " + Prefix + "/readings":                auth.Sensor,
		"POST " + Prefix + "/alerts/{id}/acknowledge": auth.Operator,
		"POST " + Prefix + "/emergency":               auth.Operator,
		"DELETE " + Prefix + "/emergency":             auth.Operator,
		"POST " + Prefix + "/testing/violation":       auth.Admin,
		"POST " + Prefix + "/testing/breach":          auth.Admin,
		"POST " + Prefix + "/testing/alert":           auth.Admin,
		"GET " + Prefix + "/stream":                   auth.Viewer,
		"GET " + Prefix + "/density-stream":           auth.Viewer,
		"GET " + Prefix + "/alert-stream":             auth.Viewer,
		"GET " + Prefix + "/alerts":                   auth.Viewer,
		"GET /healthz":                                public,
	}
	for p, r := range want {
		if need[p] != r {
			t.Errorf("%s needs %q, want %q", p, need[p], r)
		}
	}
}

func TestTestingRoutesOffUnlessEnabled(t *testing.T) {
	e := start(t, false, func(o *Options) { o.TestingEnabled = false })
	r := e.do("POST", Prefix+"/testing/alert", `{"zoneId":"gate-a","level":"watch"}`)
	wantError(t, r, 404, "not_found", "")
	if c := e.engine.lastCall(); c != "" {
		t.Fatalf("engine called: %s", c)
	}
}

func TestNoSecretMeansLocalAdmin(t *testing.T) {
	e := start(t, false, nil)
	var me meResponse
	r := e.do("GET", "/api/auth/me", "")
	r.decode(t, &me)
	if r.status != 200 || me != (meResponse{Subject: "local", Role: auth.Admin}) {
		t.Fatalf("%d %+v", r.status, me)
	}
	e.do("POST", Prefix+"/alerts/a1/acknowledge", "")
	if c := e.engine.lastCall(); c != "Acknowledge a1 local" {
		t.Fatalf("actor not recorded: %q", c)
	}
	r = e.do("GET", Prefix+"/stream", "")
	if string(r.body) != ": topics= subject=local\n\n" {
		t.Fatalf("stream got %q", r.body)
	}
}
