package api

import (
	"net/http"
	"regexp"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Limits of a client error report: enough for a stack trace, too little to
// fill the log.
const (
	maxReportBytes   = 16 << 10
	maxReportMessage = 2000
)

// categoryPattern admits the seed's categories (sse-connection, sse-parse)
// and others of the same shape, never free text.
var categoryPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// clientError logs a browser's report (the dashboard's ErrorHandler) so that
// stream failures seen only by clients show up in the server log.
func (s *server) clientError(w http.ResponseWriter, r *http.Request) error {
	p, verified := auth.FromContext(r.Context())
	key := clientKey(r, p, verified && s.opts.Auth != nil)
	if ok, wait := s.reports.allow(key, s.now()); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		return crowd.Errorf(crowd.ErrRateLimited, "too many error reports; retry in %s s", retryAfter(wait))
	}
	var body struct {
		Category string         `json:"category"`
		Message  string         `json:"message"`
		Context  map[string]any `json:"context"`
	}
	if err := decodeBody(w, r, maxReportBytes, &body); err != nil {
		return err
	}
	switch {
	case !categoryPattern.MatchString(body.Category):
		return crowd.Invalidf("category", "must be a short lower-case name like sse-connection or sse-parse")
	case body.Message == "":
		return crowd.Invalidf("message", "is required")
	case len(body.Message) > maxReportMessage:
		return crowd.Invalidf("message", "must be at most %d characters", maxReportMessage)
	}
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	s.log.WarnContext(r.Context(), "client error",
		"category", body.Category, "message", body.Message, "context", body.Context,
		"client", key, "subject", p.Subject, "userAgent", ua, "requestId", requestIDOf(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
