package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// ContentSecurityPolicy allows only our own scripts, styles and connections:
// no inline script, no framing, no foreign form targets.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

type requestIDKey struct{}

// newRequestIDs returns a generator of ids unique to this process: a random
// prefix (so ids from two instances or two runs never collide in merged
// logs) and a counter.
func newRequestIDs() func() string {
	var b [4]byte
	rand.Read(b[:])
	prefix := hex.EncodeToString(b[:]) + "-"
	var n atomic.Uint64
	return func() string { return prefix + strconv.FormatUint(n.Add(1), 10) }
}

func requestIDOf(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.requestID()
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// recoverPanics turns a handler panic into a logged 500 instead of a dropped
// connection. http.ErrAbortHandler is the deliberate way to abort a response
// and is passed on.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, errors.New("panic: "+strings.TrimSpace(fmtAny(v))))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func fmtAny(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return "non-error value"
}

func (s *server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// cors answers for the configured origins only. Everyone else gets no CORS
// headers, so a browser on a foreign page cannot read our responses; writes
// from there are stopped by the cross-origin protection further in.
func (s *server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if len(s.origins) > 0 {
			// Answers differ by origin, so caches must key on it, even
			// for requests that carry none.
			w.Header().Add("Vary", "Origin")
		}
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := s.origins[origin]
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			w.Header().Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			if !allowed {
				s.fail(w, r, crowd.Errorf(crowd.ErrForbidden, "origin %q is not allowed", origin))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID, X-CSRF-Token")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHostOnly refuses requests that do not name this machine in Host.
// Without a secret every caller is admin; the listen address keeps other
// machines out, and this keeps out browsers tricked by DNS rebinding
// (evil.example resolving to 127.0.0.1 makes its pages "same-origin" with
// the engine).
func (s *server) loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if !auth.IsLoopbackHost(host) {
			s.fail(w, r, crowd.Errorf(crowd.ErrForbidden, "host %q refused: this engine runs without a JWT secret and answers only to localhost", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fallback gives unmatched requests the JSON error every client expects:
// ServeMux's own 404 and 405 answers are plain text. The mux is asked which
// pattern matches; only when none does is its answer captured and rewritten
// (keeping the Allow header of a 405).
func (s *server) fallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		c := &captured{header: http.Header{}}
		h.ServeHTTP(c, r)
		switch c.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", c.header.Get("Allow"))
			s.fail(w, r, crowd.Errorf(codeMethodNotAllowed, "method %s is not allowed here; allowed: %s", r.Method, c.header.Get("Allow")))
		case http.StatusNotFound:
			s.fail(w, r, crowd.Errorf(crowd.ErrNotFound, "no such route: %s %s", r.Method, r.URL.Path))
		default:
			for k, v := range c.header {
				w.Header()[k] = v
			}
			w.WriteHeader(c.status)
			w.Write(c.body.Bytes())
		}
	})
}

// captured records a small fallback response.
type captured struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captured) Header() http.Header { return c.header }
func (c *captured) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
func (c *captured) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
