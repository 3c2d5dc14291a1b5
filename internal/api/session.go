package api

import (
	"net/http"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// maxTokenBytes bounds a sign-in body; real tokens are a few hundred bytes.
const maxTokenBytes = 8 << 10

// meResponse is GET /api/auth/me and the answer to a sign-in.
type meResponse struct {
	Subject      string    `json:"subject"`
	Role         auth.Role `json:"role"`
	AuthRequired bool      `json:"authRequired"`
	ExpiresAt    int64     `json:"expiresAt,omitempty"` // ms since epoch, on sign-in
}

// signIn verifies a token and moves it into the HttpOnly session cookie, so
// the dashboard's scripts (and an injected one) never hold it.
func (s *server) signIn(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Token string `json:"token"`
	}
	if err := decodeBody(w, r, maxTokenBytes, &body); err != nil {
		return err
	}
	if s.opts.Auth == nil {
		// No secret, nothing to sign in to: everyone is the local admin.
		writeJSON(w, http.StatusOK, meResponse{Subject: local.Subject, Role: local.Role})
		return nil
	}
	if body.Token == "" {
		return crowd.Invalidf("token", "is required")
	}
	p, exp, err := s.opts.Auth.Verify(body.Token)
	if err != nil {
		return &crowd.Error{Code: crowd.ErrUnauthorized, Field: "token", Message: "invalid or expired token: " + err.Error()}
	}
	if _, err := auth.SetSession(w, r, body.Token, exp); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meResponse{Subject: p.Subject, Role: p.Role, AuthRequired: true, ExpiresAt: exp.UnixMilli()})
	return nil
}

// signOut clears the cookies and ends the session's open streams: a JWT
// cannot be revoked, but the screens signed in with it must not keep
// showing live data after the user signed out.
func (s *server) signOut(w http.ResponseWriter, r *http.Request) error {
	if tok, _, ok := auth.TokenFrom(r); ok && tok != "" && s.opts.SignedOut != nil {
		s.opts.SignedOut(auth.SessionID(tok))
	}
	auth.ClearSession(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) me(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, meResponse{Subject: p.Subject, Role: p.Role, AuthRequired: s.opts.Auth != nil})
	return nil
}
