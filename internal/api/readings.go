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
	return decodeReadingBody(body, 0)
}

// decodeReadingBody is DecodeReadings with the body's announced size, if known.
func decodeReadingBody(body io.Reader, size int64) ([]crowd.ReadingInput, error) {
	data, err := readAll(body, size)
	if err != nil {
		return nil, jsonError(err, "")
	}
	return DecodeReadingBytes(data)
}

// DecodeReadingBytes is DecodeReadings for a body already in hand (an MQTT
// message's payload): no copy.
func DecodeReadingBytes(data []byte) ([]crowd.ReadingInput, error) {
	if !utf8.Valid(data) {
		// JSON is UTF-8 (RFC 8259); decoded anyway, a sensor id would
		// silently become another one (invalid bytes turn into U+FFFD).
		return nil, crowd.Invalidf("readings", "the body is not valid UTF-8")
	}
	if out, ok := fastReadings(data); ok {
		return out, nil
	}
	return decodeReadingsSlow(data)
}

// decodeReadingsSlow is the strict decoder: encoding/json after the key
// check, the one that words every error. fastReadings hands it everything
// it does not take.
func decodeReadingsSlow(data []byte) ([]crowd.ReadingInput, error) {
	var err error
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

// readAll reads a body whose size is announced (Content-Length) into one
// buffer of that size: io.ReadAll's doubling from 512 bytes copied a
// batch of a thousand readings several times over. The hint is only
// that: a body longer or shorter than announced is still read whole
// (net/http has already enforced Content-Length, and MaxBytesReader the
// limit).
func readAll(r io.Reader, hint int64) ([]byte, error) {
	if hint <= 0 || hint > 1<<24 {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, hint+1) // +1: EOF is seen without growing
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow as append does
		}
	}
}

// truncated reports an end of input inside a value for what it is: EOF is
// only "empty body" before the first byte.
func truncated(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
