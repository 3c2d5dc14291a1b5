package ws

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// checkOrigin stops cross-site WebSocket hijacking. A browser opens a
// WebSocket to any site with that site's cookies and no CORS check, so a
// foreign page could otherwise read the streams (and acknowledge alerts) as
// the signed-in operator. A browser always sends Origin on a WebSocket
// handshake: it must be this server's own host or one of
// --allowed-origins (exact matches, as for CORS). A request without Origin
// is not from a browser page, and carries no ambient credential a page
// could abuse: it passes (the route's token check still applies).
func (s *Server) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if s.origins[origin] {
		return nil
	}
	u, err := url.Parse(origin)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	return crowd.Errorf(crowd.ErrForbidden, "origin %q may not open a WebSocket here (same origin or --allowed-origins only)", origin)
}
