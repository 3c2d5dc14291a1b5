package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"
)

// The dashboard signs in once with a token and from then on is authenticated
// by cookie, which a browser EventSource sends by itself (it cannot set an
// Authorization header). Because a browser also sends that cookie on requests
// other sites make it send, writes authenticated by cookie must prove they
// come from our own page: the double-submit CSRF token.
const (
	SessionCookie = "crowdrisk_session" // the JWT; HttpOnly so scripts never see it
	CSRFCookie    = "crowdrisk_csrf"    // readable by our scripts, echoed in CSRFHeader
	CSRFHeader    = "X-CSRF-Token"
)

// SetSession sets the session and CSRF cookies for token, expiring with it.
// It returns the CSRF token.
func SetSession(w http.ResponseWriter, r *http.Request, token string, expires time.Time) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	csrf := base64.RawURLEncoding.EncodeToString(b[:])
	secure := overTLS(r)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: CSRFCookie, Value: csrf, Path: "/", Expires: expires,
		Secure: secure, SameSite: http.SameSiteStrictMode,
	})
	return csrf, nil
}

// overTLS reports whether the browser reached us over HTTPS: directly, or
// through a load balancer that terminates TLS and says so. Trusting the
// header is safe here: a forged one only makes the cookie stricter (Secure)
// for the client that forged it.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// ClearSession removes both cookies (sign-out).
func ClearSession(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: name == SessionCookie, Secure: overTLS(r), SameSite: http.SameSiteStrictMode,
		})
	}
}

// TokenFrom returns the request's token: the Authorization Bearer header
// first, else the session cookie. fromCookie says which, because only cookie
// authentication needs the CSRF check. ok is false when there is none.
func TokenFrom(r *http.Request) (token string, fromCookie, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return "", false, false
		}
		return strings.TrimSpace(tok), false, true
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return c.Value, true, true
	}
	return "", false, false
}

// ErrCSRF is returned when a cookie-authenticated write lacks a matching
// X-CSRF-Token header.
var ErrCSRF = errors.New("missing or wrong " + CSRFHeader + " header: send the value of the " + CSRFCookie + " cookie")

// CheckCSRF verifies the double-submit token of a cookie-authenticated write.
// Another site can make the browser send our cookies but cannot read them,
// so it cannot copy the CSRF cookie into the header.
func CheckCSRF(r *http.Request) error {
	c, err := r.Cookie(CSRFCookie)
	if err != nil || c.Value == "" {
		return ErrCSRF
	}
	h := r.Header.Get(CSRFHeader)
	if h == "" || subtle.ConstantTimeCompare([]byte(h), []byte(c.Value)) != 1 {
		return ErrCSRF
	}
	return nil
}
