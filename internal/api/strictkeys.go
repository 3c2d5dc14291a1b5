package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// checkKeys walks a JSON document beside the Go type it will be decoded into
// and refuses what encoding/json lets through silently:
//   - a key given twice in one object (which value wins is an accident of
//     the decoder, and a proxy or a log may have read the other one);
//   - a field name in the wrong case ("ZoneID" for "zoneId"), which
//     encoding/json matches case-insensitively.
//
// Malformed JSON is left to the decoder, whose messages say where it broke.
// prefix qualifies the field names of the errors ("readings").
//
// It scans the bytes itself rather than through json.Decoder.Token: every
// reading a sensor posts passes here, and the tokenizer's allocations were
// a fifth of the ingest path's CPU (BENCHMARKS.md, "one reading per
// request"). Paths are only spelled out for an error.
func checkKeys(data []byte, t reflect.Type, prefix string) error {
	k := keyScanner{data: data}
	err := k.value(t, &keyPath{key: prefix, root: true})
	if _, ok := err.(*crowd.Error); ok {
		return err
	}
	return nil // a syntax error (errSyntax): the decoder reports it
}

// keyPath is where the scanner is, as a chain from the root, rendered only
// when an error names it.
type keyPath struct {
	parent *keyPath
	key    string // an object's member ("" with index >= 0)
	index  int    // an array's element, or -1
	root   bool
}

func (p *keyPath) member(key string) *keyPath { return &keyPath{parent: p, key: key, index: -1} }
func (p *keyPath) element(i int) *keyPath     { return &keyPath{parent: p, index: i} }

func (p *keyPath) String() string {
	if p.root {
		return p.key
	}
	base := p.parent.String()
	if p.index >= 0 {
		return fmt.Sprintf("%s[%d]", base, p.index)
	}
	return joinField(base, p.key)
}

// errSyntax stops the walk at JSON the decoder will refuse with its own,
// better message.
var errSyntax = fmt.Errorf("syntax")

type keyScanner struct {
	data  []byte
	i     int
	depth int
}

// maxKeyDepth matches encoding/json's nesting limit: deeper input is the
// decoder's to refuse, and the walk must not recurse without bound.
const maxKeyDepth = 10000

func (k *keyScanner) skipSpace() {
	for k.i < len(k.data) {
		switch k.data[k.i] {
		case ' ', '\t', '\n', '\r':
			k.i++
		default:
			return
		}
	}
}

// value walks one JSON value whose Go type is t (nil: unknown, keys are
// then only checked for duplicates).
func (k *keyScanner) value(t reflect.Type, path *keyPath) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	k.skipSpace()
	if k.i >= len(k.data) || k.depth >= maxKeyDepth {
		return errSyntax
	}
	k.depth++
	defer func() { k.depth-- }()
	switch k.data[k.i] {
	case '[':
		return k.array(t, path)
	case '{':
		return k.object(t, path)
	case '"':
		_, _, err := k.str()
		return err
	default:
		return k.scalar()
	}
}

func (k *keyScanner) array(t reflect.Type, path *keyPath) error {
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	k.i++ // '['
	k.skipSpace()
	if k.i < len(k.data) && k.data[k.i] == ']' {
		k.i++
		return nil
	}
	for n := 0; ; n++ {
		if err := k.value(elem, path.element(n)); err != nil {
			return err
		}
		if done, err := k.next(']'); done || err != nil {
			return err
		}
	}
}

func (k *keyScanner) object(t reflect.Type, path *keyPath) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	k.i++ // '{'
	k.skipSpace()
	if k.i < len(k.data) && k.data[k.i] == '}' {
		k.i++
		return nil
	}
	// A reading has a handful of members: a slice beats a map there; a
	// large object moves to a map so that a hostile one with thousands of
	// members costs linear time, not quadratic.
	var seenBuf [8]string
	seen := seenBuf[:0]
	var seenMap map[string]bool
	for {
		k.skipSpace()
		if k.i >= len(k.data) || k.data[k.i] != '"' {
			return errSyntax
		}
		raw, escaped, err := k.str()
		if err != nil {
			return err
		}
		key := string(raw)
		if escaped {
			if json.Unmarshal(k.data[k.i-len(raw)-2:k.i], &key) != nil {
				return errSyntax
			}
		}
		dup := seenMap[key]
		for _, s := range seen {
			dup = dup || s == key
		}
		if dup {
			return crowd.Invalidf(path.member(key).String(), "is given twice; give each field once")
		}
		if seenMap == nil && len(seen) < 32 {
			seen = append(seen, key)
		} else {
			if seenMap == nil {
				seenMap = make(map[string]bool, 2*len(seen))
				for _, s := range seen {
					seenMap[s] = true
				}
				seen = nil
			}
			seenMap[key] = true
		}
		var ft reflect.Type
		switch {
		case fields != nil:
			var known bool
			if ft, known = fields[key]; !known {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return crowd.Invalidf(path.member(key).String(), "unknown field; names are case-sensitive: write %q", name)
					}
				}
			}
		case t != nil && t.Kind() == reflect.Map:
			ft = t.Elem()
		}
		k.skipSpace()
		if k.i >= len(k.data) || k.data[k.i] != ':' {
			return errSyntax
		}
		k.i++
		if err := k.value(ft, path.member(key)); err != nil {
			return err
		}
		if done, err := k.next('}'); done || err != nil {
			return err
		}
	}
}

// next reads what follows a member or an element: a comma (more to come)
// or the closing delimiter (done).
func (k *keyScanner) next(closing byte) (done bool, err error) {
	k.skipSpace()
	if k.i >= len(k.data) {
		return false, errSyntax
	}
	switch k.data[k.i] {
	case ',':
		k.i++
		return false, nil
	case closing:
		k.i++
		return true, nil
	}
	return false, errSyntax
}

// str reads a string at k.i and returns its raw contents (between the
// quotes) and whether it holds an escape.
func (k *keyScanner) str() (raw []byte, escaped bool, err error) {
	start := k.i + 1
	for j := start; j < len(k.data); j++ {
		switch k.data[j] {
		case '\\':
			escaped = true
			j++ // the escaped byte (a \u's digits are plain bytes)
		case '"':
			k.i = j + 1
			return k.data[start:j], escaped, nil
		}
	}
	return nil, false, errSyntax
}

// scalar skips a number, true, false or null; its validity is the
// decoder's to judge.
func (k *keyScanner) scalar() error {
	start := k.i
	for k.i < len(k.data) {
		switch k.data[k.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			if k.i == start {
				return errSyntax
			}
			return nil
		}
		k.i++
	}
	if k.i == start {
		return errSyntax
	}
	return nil
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldCache holds jsonFields per type: computed once, read on every
// object of every request.
var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields (embedded structs
// flattened, as encoding/json does) to their types. The map is shared:
// callers must not change it.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := structFields(t)
	fieldCache.Store(t, m)
	return m
}

func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
