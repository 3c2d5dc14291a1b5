package api

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds a readiness check: a load balancer's probe must get an
// answer even when the store hangs.
const readyTimeout = 2 * time.Second

func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	body := map[string]any{}
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		details, err := s.opts.Ready(ctx)
		for k, v := range details {
			body[k] = v
		}
		if err != nil {
			s.log.DebugContext(r.Context(), "not ready", "err", err)
			body["status"], body["error"] = "unavailable", err.Error()
			writeJSON(w, http.StatusServiceUnavailable, body)
			return nil
		}
	}
	body["status"] = "ready"
	writeJSON(w, http.StatusOK, body)
	return nil
}
