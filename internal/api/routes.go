package api

import (
	"net/http"
	"net/url"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/event"
)

// Prefix is where the crowd-risk API lives.
const Prefix = "/api/crowd-risk"

// MonitorPage is where GET / sends a browser.
const MonitorPage = "/admin/crowd-risk/monitor"

// routes is the route table: every route with the role it needs, in one
// place to read and to audit. Probes are exempt from the request rate limit.
// Opening a stream costs one request like any other (a client stuck in a
// reconnect loop must not make the server replay history as fast as it can
// ask); how many streams a client holds at once is capped by the stream
// handler.
func (s *server) routes() []route {
	h := func(f handlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := f(w, r); err != nil {
				s.fail(w, r, err)
			}
		})
	}
	rs := []route{
		{"GET /healthz", public, false, h(s.healthz)},
		{"GET /readyz", public, false, h(s.readyz)},

		{"POST /api/auth/session", public, true, h(s.signIn)},
		{"DELETE /api/auth/session", public, true, h(s.signOut)},
		{"GET /api/auth/me", auth.Anyone, true, h(s.me)},

		{"GET " + Prefix + "/zones", auth.Viewer, true, h(s.zones)},
		{"GET " + Prefix + "/venue", auth.Viewer, true, h(s.venue)},
		{"POST " + Prefix + "/readings", auth.Sensor, true, h(s.postReadings)},
		{"GET " + Prefix + "/density", auth.Viewer, true, h(s.density)},
		{"GET " + Prefix + "/density/history", auth.Viewer, true, h(s.densityHistory)},
		{"GET " + Prefix + "/alerts", auth.Viewer, true, h(s.alerts)},
		{"POST " + Prefix + "/alerts/{id}/acknowledge", auth.Operator, true, h(s.acknowledge)},
		{"GET " + Prefix + "/emergency", auth.Viewer, true, h(s.emergency)},
		{"POST " + Prefix + "/emergency", auth.Operator, true, h(s.activateEmergency)},
		{"DELETE " + Prefix + "/emergency", auth.Operator, true, h(s.endEmergency)},
		{"GET " + Prefix + "/incidents", auth.Viewer, true, h(s.incidents)},
		{"GET " + Prefix + "/incidents.csv", auth.Viewer, true, h(s.incidentsCSV)},
		// Its own, stricter limiter: every accepted report is a log line.
		{"POST " + Prefix + "/client-errors", auth.Viewer, false, h(s.clientError)},
	}
	if s.opts.TestingEnabled {
		rs = append(rs,
			route{"POST " + Prefix + "/testing/violation", auth.Admin, true, h(s.testViolation)},
			route{"POST " + Prefix + "/testing/breach", auth.Admin, true, h(s.testBreach)},
			route{"POST " + Prefix + "/testing/alert", auth.Admin, true, h(s.testAlert)},
		)
	}
	if s.opts.History != nil {
		rs = append(rs, route{"GET " + Prefix + "/zones/{id}/history", auth.Viewer, true, h(s.zoneHistory)})
	}
	if st := s.opts.Streams; st != nil {
		rs = append(rs,
			route{"GET " + Prefix + "/stream", auth.Viewer, true, st.Handler(nil)},
			route{"GET " + Prefix + "/density-stream", auth.Viewer, true, st.Handler([]event.Topic{event.TopicDensity})},
			route{"GET " + Prefix + "/alert-stream", auth.Viewer, true, st.Handler([]event.Topic{event.TopicAlerts})},
		)
	}
	if s.opts.Notifications != nil {
		rs = append(rs, route{"GET " + Prefix + "/notifications/status", auth.Viewer, true, s.opts.Notifications})
	}
	if s.opts.WebSocket != nil {
		// The handshake is a GET: the cross-origin protection lets it
		// through, so the handler checks Origin itself.
		rs = append(rs, route{"GET " + Prefix + "/ws", auth.Viewer, true, s.opts.WebSocket})
	}
	if s.opts.Metrics != nil {
		rs = append(rs, route{"GET /metrics", auth.Viewer, false, s.opts.Metrics})
	}
	return rs
}

// register mounts the route table, the dashboard and the root redirect.
func (s *server) register(mux *http.ServeMux) (err error) {
	defer func() {
		// ServeMux panics on conflicting patterns; New reports it instead.
		if v := recover(); v != nil {
			err = &registerError{v}
		}
	}()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.guard(rt))
	}
	if s.opts.Web != nil {
		s.opts.Web.Register(mux)
	}
	// The dashboard may claim "/" itself; only when it did not does GET /
	// lead a browser to the monitor.
	if _, pattern := mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}}); pattern == "" {
		mux.Handle("GET /{$}", http.RedirectHandler(MonitorPage, http.StatusFound))
	}
	return nil
}

type registerError struct{ v any }

func (e *registerError) Error() string { return "api: registering routes: " + fmtAny(e.v) }
