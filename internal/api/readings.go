package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"unicode/utf8"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// DecodeReadings reads a POST /readings body: one ReadingInput or an array of
// at most MaxBatch of them. It only decodes, strictly (unknown fields,
// duplicate keys and names in the wrong case are refused); the rules of what
// a reading may say are crowd's (ReadingInput.Check, Monitor.Admit), applied
// by the engine. Fields in errors are "readings[i].field".
func DecodeReadings(body io.Reader) ([]crowd.ReadingInput, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, jsonError(err, "")
	}
	if !utf8.Valid(data) {
		// JSON is UTF-8 (RFC 8259); decoded anyway, a sensor id would
		// silently become another one (invalid bytes turn into U+FFFD).
		return nil, crowd.Invalidf("readings", "the body is not valid UTF-8")
	}
	// Past the leading whitespace by hand: a bufio.Reader here cost a 4 KiB
	// buffer per request, on the path every sensor's reading takes.
	start := bytes.IndexFunc(data, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' })
	if start < 0 {
		return nil, jsonError(io.EOF, "")
	}
	first := data[start]
	br := bytes.NewReader(data[start:])
	switch first {
	case '{':
		err = checkKeys(data, reflect.TypeFor[crowd.ReadingInput](), "readings[0]")
	case '[':
		err = checkKeys(data, reflect.TypeFor[[]crowd.ReadingInput](), "readings")
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	var out []crowd.ReadingInput
	switch first {
	case '{':
		var in crowd.ReadingInput
		if err := dec.Decode(&in); err != nil {
			return nil, jsonError(err, "readings[0]")
		}
		out = append(out, in)
	case '[':
		if _, err := dec.Token(); err != nil {
			return nil, jsonError(err, "readings")
		}
		for i := 0; dec.More(); i++ {
			if i == MaxBatch {
				return nil, &crowd.Error{Code: crowd.ErrTooLarge, Field: "readings", Message: fmt.Sprintf("a batch holds at most %d readings", MaxBatch)}
			}
			var in crowd.ReadingInput
			if err := dec.Decode(&in); err != nil {
				return nil, jsonError(err, fmt.Sprintf("readings[%d]", i))
			}
			out = append(out, in)
		}
		if _, err := dec.Token(); err != nil { // the closing bracket
			return nil, jsonError(truncated(err), "readings")
		}
		if len(out) == 0 {
			return nil, crowd.Invalidf("readings", "the array is empty; send at least one reading")
		}
	default:
		return nil, crowd.Invalidf("readings", "the body must be a reading object or an array of them")
	}
	if err := expectEOF(dec); err != nil {
		return nil, err
	}
	return out, nil
}

// truncated reports an end of input inside a value for what it is: EOF is
// only "empty body" before the first byte.
func truncated(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
