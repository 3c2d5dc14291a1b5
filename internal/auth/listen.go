package auth

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// CheckListen enforces the secure-by-default start-up rule: an engine with no
// JWT secret treats every caller as admin, so it may only listen where no one
// but this machine can reach it. insecure overrides, for those who mean it.
func CheckListen(addr string, haveSecret, insecure bool) error {
	if haveSecret || insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %v (want host:port, e.g. 127.0.0.1:8080)", addr, err)
	}
	if IsLoopbackHost(host) {
		return nil
	}
	where := host
	if where == "" {
		where = "every interface"
	}
	return fmt.Errorf("refusing to listen on %q (%s) without authentication: with no JWT secret every caller is an admin, "+
		"so only loopback addresses (127.0.0.1, ::1, localhost) are allowed; "+
		"set CROWDRISK_JWT_SECRET to require tokens, or pass --insecure to expose an unauthenticated engine anyway", addr, where)
}

// IsLoopbackHost reports whether host (a name or an IP, without port or
// brackets) can only mean this machine.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false // a host name could resolve anywhere
	}
	return ip.Unmap().IsLoopback() && ip.Zone() == ""
}
