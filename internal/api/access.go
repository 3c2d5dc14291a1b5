package api

import (
	"errors"
	"net/http"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// public marks a route anyone may call.
const public auth.Role = ""

// route is one line of the route table: a ServeMux pattern, who may call it
// and whether it counts against the request rate limit.
type route struct {
	pattern string
	need    auth.Role
	limited bool
	handler http.Handler
}

// handlerFunc is a handler that returns its error for fail to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// local is the caller of an engine without a JWT secret: the loopback demo.
var local = auth.Principal{Subject: "local", Role: auth.Admin}

var errNoToken = errors.New("no token")

// identify returns the request's caller and, when a token proved it, the
// token's session and expiry. fromCookie says the token came from the
// session cookie (so writes need the CSRF header).
func (s *server) identify(r *http.Request) (p auth.Principal, cred auth.Credential, fromCookie bool, err error) {
	if s.opts.Auth == nil {
		return local, cred, false, nil
	}
	tok, fromCookie, ok := auth.TokenFrom(r)
	if !ok {
		return auth.Principal{}, cred, false, errNoToken
	}
	p, cred.Expires, err = s.opts.Auth.Verify(tok)
	cred.Session = auth.SessionID(tok)
	return p, cred, fromCookie, err
}

// guard applies a route's rate limit and access rule, then stores the caller
// in the request context for the handler (and the stream handler) to read.
func (s *server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, cred, fromCookie, authErr := s.identify(r)
		verified := authErr == nil && s.opts.Auth != nil
		if rt.limited && s.limits != nil {
			if ok, wait := s.limits.allow(clientKey(r, p, verified), s.now()); !ok {
				w.Header().Set("Retry-After", retryAfter(wait))
				s.fail(w, r, crowd.Errorf(crowd.ErrRateLimited, "too many requests; retry in %s s", retryAfter(wait)))
				return
			}
		}
		if rt.need != public {
			switch {
			case errors.Is(authErr, errNoToken):
				s.fail(w, r, crowd.Errorf(crowd.ErrUnauthorized, "sign in: send a token as Authorization: Bearer or sign in at /admin/crowd-risk/login"))
				return
			case authErr != nil:
				s.fail(w, r, &crowd.Error{Code: crowd.ErrUnauthorized, Message: "invalid or expired token: " + authErr.Error()})
				return
			case !p.Role.Allows(rt.need):
				s.fail(w, r, crowd.Errorf(crowd.ErrForbidden, "role %s may not do this; it needs %s", p.Role, rt.need))
				return
			case fromCookie && !safeMethod(r.Method):
				if err := auth.CheckCSRF(r); err != nil {
					s.fail(w, r, crowd.Errorf(crowd.ErrForbidden, "%s", err.Error()))
					return
				}
			}
		}
		if authErr == nil {
			ctx := auth.WithPrincipal(r.Context(), p)
			if verified {
				// Only a verified token is a credential: the streams key
				// their per-client cap on it and end with it.
				ctx = auth.WithCredential(ctx, cred)
			}
			r = r.WithContext(ctx)
		}
		rt.handler.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// actor is who performed a request, for the audit trail.
func actor(r *http.Request) string {
	p, _ := auth.FromContext(r.Context())
	return p.Subject
}
