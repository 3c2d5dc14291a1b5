package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// codeMethodNotAllowed is an error code the API adds to crowd's: only
// routing can produce it (codeRequestTimeout, the other, only the server).
const codeMethodNotAllowed = "method_not_allowed"

// statusOf is the one place an error code becomes an HTTP status.
func statusOf(code string) int {
	switch code {
	case crowd.ErrInvalid:
		return http.StatusBadRequest
	case crowd.ErrUnauthorized:
		return http.StatusUnauthorized
	case crowd.ErrForbidden:
		return http.StatusForbidden
	case crowd.ErrNotFound:
		return http.StatusNotFound
	case crowd.ErrConflict:
		return http.StatusConflict
	case crowd.ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case crowd.ErrRateLimited:
		return http.StatusTooManyRequests
	case crowd.ErrUnavailable:
		return http.StatusServiceUnavailable
	case crowd.ErrTimeout:
		return http.StatusGatewayTimeout
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case codeRequestTimeout:
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// ErrorWriter is the API's error response for handlers outside this
// package (the streams' refusals before their head is written), so every
// error a client gets has one shape and one status mapping.
func ErrorWriter(log *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{log: log}
	return s.fail
}

// fail answers a request with err and logs it, once, here at the edge:
// server faults at error level with the request id, client mistakes at debug.
// Anything that is not a *crowd.Error is an internal fault whose details stay
// in the log, never in the response.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ce *crowd.Error
	var down *store.UnavailableError
	switch {
	case errors.As(err, &ce):
	case errors.As(err, &down):
		// The database is down or restarting: the client should try again.
		ce = &crowd.Error{Code: crowd.ErrUnavailable, Message: "the store is unavailable (down or restarting); try again shortly"}
	default:
		ce = &crowd.Error{Code: crowd.ErrInternal, Message: "internal error; the server log has the details under request id " + requestIDOf(r)}
	}
	status := statusOf(ce.Code)
	attrs := []any{"requestId", requestIDOf(r), "method", r.Method, "path", r.URL.Path, "status", status, "err", err}
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", attrs...)
	} else {
		s.log.DebugContext(r.Context(), "request refused", attrs...)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="crowdrisk"`)
	}
	writeJSON(w, status, struct {
		Error *crowd.Error `json:"error"`
	}{ce})
}

// writeJSON writes v with status. An encoding failure here can only be a
// programming error (every type we send marshals), so it is logged by the
// caller's tests rather than handled.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"response encoding failed"}}`)
	}
	writeJSONBody(w, status, append(b, '\n'))
}

// writeJSONBody writes an encoded JSON body (its newline included) with
// writeJSON's headers and status.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
