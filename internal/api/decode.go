package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// decodeBody reads a request body of at most limit bytes into v, strictly:
// unknown fields, type errors and trailing data are refused with an error
// that names the field.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return jsonError(err, "")
	}
	if err := checkKeys(data, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, "")
	}
	return expectEOF(dec)
}

// expectEOF refuses anything after the one JSON value of a body: a second
// value would otherwise be silently ignored.
func expectEOF(dec *json.Decoder) error {
	_, err := dec.Token()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return jsonError(err, "")
	}
	return crowd.Errorf(crowd.ErrInvalid, "unexpected data after the JSON value")
}

// jsonError turns a decoding error into a crowd.Error; prefix qualifies the
// field ("readings[3]").
func jsonError(err error, prefix string) error {
	var (
		ce        *crowd.Error // already an answer (the body deadline's)
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	join := func(field string) string {
		switch {
		case prefix == "":
			return field
		case field == "":
			return prefix
		}
		return prefix + "." + field
	}
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &maxErr):
		return crowd.Errorf(crowd.ErrTooLarge, "request body is larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return crowd.Errorf(crowd.ErrInvalid, "request body is empty; want a JSON value")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &crowd.Error{Code: crowd.ErrInvalid, Field: prefix, Message: "malformed JSON: the body ends in the middle of a value"}
	case errors.As(err, &syntaxErr):
		return &crowd.Error{Code: crowd.ErrInvalid, Field: prefix, Message: fmt.Sprintf("malformed JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))}
	case errors.As(err, &typeErr):
		return crowd.Invalidf(join(typeErr.Field), "%s (got %s)", wantType(typeErr), typeErr.Value)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, `json: unknown field "`); ok {
		return crowd.Invalidf(join(strings.TrimSuffix(name, `"`)), "unknown field")
	}
	return &crowd.Error{Code: crowd.ErrInvalid, Field: prefix, Message: strings.TrimPrefix(msg, "json: ")}
}

// wantType says in plain words what a field must hold.
func wantType(e *json.UnmarshalTypeError) string {
	t := e.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	number := strings.HasPrefix(e.Value, "number")
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		if number {
			return "must be a finite number"
		}
		return "must be a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if number {
			return "must be a whole number in range"
		}
		return "must be a whole number"
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	case reflect.Struct, reflect.Map:
		return "must be an object"
	}
	return "has the wrong type"
}
