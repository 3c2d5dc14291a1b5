// Package auth decides who a request comes from and what that caller may do:
// roles, HS256 JWTs, the session cookies the dashboard signs in with and their
// CSRF guard, the token-minting command and the secure-by-default listen rule.
package auth

import "fmt"

// Role is what a token allows. viewer < operator < admin form a ladder;
// sensor stands aside: it may post readings and nothing else, so a leaked
// sensor token can neither read the venue nor silence an alert.
type Role string

const (
	Viewer   Role = "viewer"   // read the streams and the API
	Operator Role = "operator" // and acknowledge alerts, start and end emergency mode
	Admin    Role = "admin"    // and everything else: testing controls, configuration
	Sensor   Role = "sensor"   // post readings only
	// Anyone is not a role a token carries: a route that needs it accepts
	// every valid token, whatever its role (e.g. "who am I").
	Anyone Role = "any"
)

// Roles lists the roles a token may carry.
var Roles = []Role{Viewer, Operator, Admin, Sensor}

// ParseRole reads a role name as a token or a flag carries it.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (want viewer, operator, sensor or admin)", s)
}

// rank orders the viewer ladder; sensor is off the ladder.
func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Operator:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// Allows reports whether a caller with role r may use a route that needs
// role need.
func (r Role) Allows(need Role) bool {
	switch {
	case r.rank() == 0 && r != Sensor:
		return false // not a role at all
	case need == Anyone:
		return true
	case r == Admin:
		return true // admin may do everything, posting readings included
	case need == Sensor:
		return r == Sensor
	case r == Sensor:
		return false
	}
	return need.rank() > 0 && r.rank() >= need.rank()
}

// Principal is the authenticated caller.
type Principal struct {
	Subject string `json:"subject"`
	Role    Role   `json:"role"`
}
