package crowd

import (
	"errors"
	"fmt"
)

// Error codes: the one error model of the engine. internal/api maps each code
// to an HTTP status in exactly one place.
const (
	ErrInvalid      = "invalid"      // bad input: 400
	ErrNotFound     = "not_found"    // 404
	ErrConflict     = "conflict"     // state forbids it: 409
	ErrTooLarge     = "too_large"    // 413
	ErrUnauthorized = "unauthorized" // 401
	ErrForbidden    = "forbidden"    // 403
	ErrRateLimited  = "rate_limited" // 429
	ErrUnavailable  = "unavailable"  // 503: nothing was changed
	ErrTimeout      = "timeout"      // 504: the outcome is unknown
	ErrInternal     = "internal"     // 500
)

// Error is an error a client can act on. Field names the offending input
// ("readings[3].density"); Message says what is wrong in plain words.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf builds an Error with a code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf builds an ErrInvalid naming a field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: ErrInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// PrefixField returns err with its field qualified by prefix
// ("density" under "readings[2]" becomes "readings[2].density").
func PrefixField(err error, prefix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	switch {
	case c.Field == "":
		c.Field = prefix
	case c.Field[0] == '[':
		c.Field = prefix + c.Field
	default:
		c.Field = prefix + "." + c.Field
	}
	return &c
}

// ErrorCode returns the code of an *Error in err's chain, or ErrInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrInternal
}
