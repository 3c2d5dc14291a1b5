package sse

// This file is a reader of text/event-stream written from the WHATWG HTML
// Living Standard, §9.2.6 "Interpreting an event stream" (and the ABNF of
// §9.2.5). Tests and the benchmark client use it to read what the server
// writes the way a browser would, so it follows the spec rather than what
// our own encoder happens to produce: CR, LF and CRLF line endings, the
// single optional space after the colon, the id buffer that outlives its
// event, and no dispatch of an event the stream did not finish.

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// Message is one dispatched event, as an EventSource would deliver it.
type Message struct {
	// Event is the event type buffer ("" when the block had no event field,
	// which a browser delivers as type "message"; see Type).
	Event string
	// Data is the data buffer: the block's data lines joined with LF.
	Data string
	// ID is the value of the last valid id field inside this block, and
	// HasID reports whether there was one (an "id" with an empty value
	// is a real id field that clears the last event id).
	ID    string
	HasID bool
	// LastEventID is the event's lastEventId: the parser's last event id
	// after this block, which an earlier block may have set.
	LastEventID string
	// Retry is the last valid retry field of this block in milliseconds,
	// present when HasRetry. The reconnection time itself changes as soon
	// as the field is read, which Next also reports as a KindRetry item.
	Retry    int
	HasRetry bool
}

// Type is the DOM event type: the event field, or "message" without one.
func (m Message) Type() string {
	if m.Event == "" {
		return "message"
	}
	return m.Event
}

// ItemKind tells which of Item's fields is set.
type ItemKind uint8

// The kinds of item a stream yields.
const (
	KindMessage ItemKind = iota + 1 // a dispatched event, in Item.Message
	KindComment                     // a line starting with ':', in Item.Comment
	KindRetry                       // a valid retry field, in Item.Retry
)

// Item is what Next yields: a dispatched message, a comment, or a change of
// the reconnection time.
type Item struct {
	Kind    ItemKind
	Message Message
	// Comment is the text after the colon, with one leading space removed
	// as for field values (": heartbeat 17" gives "heartbeat 17"). The spec
	// ignores comments; they are surfaced because tests need to see
	// heartbeats.
	Comment string
	// Retry is the new reconnection time in milliseconds.
	Retry int
}

// ErrLineTooLong is returned when one line exceeds the parser's limit.
var ErrLineTooLong = errors.New("sse: line exceeds the parser's limit")

// DefaultMaxLineBytes bounds a single line, so a broken server cannot make
// a test client buffer without end.
const DefaultMaxLineBytes = 8 << 20

// Parser reads items from a text/event-stream. It is not safe for
// concurrent use.
type Parser struct {
	r       io.Reader
	readErr error // sticky error of r, returned once buffered lines are done

	buf  []byte
	head int // first unconsumed byte
	tail int // end of the bytes read

	maxLine    int
	bomChecked bool // the UTF-8 decoder strips one BOM at the very start only
	skipLF     bool // the previous line ended in CR: a following LF is part of it

	// The three buffers of the spec, and the event's retry.
	data      []byte
	hasData   bool // the data buffer is non-empty (it may hold only an LF)
	eventType []byte
	idBuf     string
	blockID   string
	hasID     bool
	retry     int
	hasRetry  bool

	lastEventID string // the event source's last event ID string
	reconnect   int    // the reconnection time, -1 until a retry field
	lastType    string // reused when the next event has the same type
	scratch     []byte // a line after UTF-8 error replacement
}

// NewParser returns a parser reading from r. It buffers r itself.
func NewParser(r io.Reader) *Parser {
	return &Parser{r: r, buf: make([]byte, 32<<10), maxLine: DefaultMaxLineBytes, reconnect: -1}
}

// SetMaxLineBytes changes the longest line accepted (n > 0).
func (p *Parser) SetMaxLineBytes(n int) {
	if n > 0 {
		p.maxLine = n
	}
}

// LastEventID is the last event ID string: what a browser would send as
// Last-Event-ID on reconnecting. It changes at the end of every block that
// had an id field, even one with no data that dispatched nothing.
func (p *Parser) LastEventID() string { return p.lastEventID }

// Reconnect is the reconnection time in milliseconds set by the last valid
// retry field, and whether there was one.
func (p *Parser) Reconnect() (ms int, ok bool) { return p.reconnect, p.reconnect >= 0 }

// Next returns the next item. At the end of the stream it returns io.EOF
// (any unfinished event is discarded, as the spec requires); a read error
// other than io.EOF is returned as is.
func (p *Parser) Next() (Item, error) {
	for {
		line, ok, err := p.readLine()
		if err != nil {
			return Item{}, err
		}
		if !ok {
			continue
		}
		if len(line) > p.maxLine {
			return Item{}, ErrLineTooLong
		}
		if item, ok := p.processLine(line); ok {
			return item, nil
		}
	}
}

// ReadAll reads r to its end and returns the dispatched messages and the
// comments, in order. A clean end of stream is not an error.
func ReadAll(r io.Reader) ([]Message, []string, error) {
	p := NewParser(r)
	var msgs []Message
	var comments []string
	for {
		item, err := p.Next()
		if err == io.EOF {
			return msgs, comments, nil
		}
		if err != nil {
			return msgs, comments, err
		}
		switch item.Kind {
		case KindMessage:
			msgs = append(msgs, item.Message)
		case KindComment:
			comments = append(comments, item.Comment)
		}
	}
}

// readLine returns the next complete line without its terminator, valid
// until the next call. ok is false when more input had to be read first.
func (p *Parser) readLine() (line []byte, ok bool, err error) {
	avail := p.buf[p.head:p.tail]
	if !p.bomChecked {
		if len(avail) < len(bom) && bytes.HasPrefix(bom, avail) && p.readErr == nil {
			return nil, false, p.fill()
		}
		if bytes.HasPrefix(avail, bom) {
			p.head += len(bom)
			avail = avail[len(bom):]
		}
		p.bomChecked = true
	}
	if p.skipLF && len(avail) > 0 {
		p.skipLF = false
		if avail[0] == '\n' {
			p.head++
			avail = avail[1:]
		}
	}
	// Only the part before the first LF can hold a CR that ends the line,
	// so each byte is scanned about once however the lines end.
	lf := bytes.IndexByte(avail, '\n')
	seg := avail
	if lf >= 0 {
		seg = avail[:lf]
	}
	if cr := bytes.IndexByte(seg, '\r'); cr >= 0 {
		// A CR ends a line at once; if an LF follows, even in a later read,
		// it belongs to this line. Waiting for the next byte instead would
		// hold back a dispatch on a stream that ends its lines with CR.
		p.head += cr + 1
		p.skipLF = true
		return avail[:cr], true, nil
	}
	if lf >= 0 {
		p.head += lf + 1
		return avail[:lf], true, nil
	}
	if p.readErr != nil {
		// The spec discards pending data at the end of the stream, so an
		// unterminated last line is never processed.
		return nil, false, p.readErr
	}
	if len(avail) > p.maxLine {
		return nil, false, ErrLineTooLong
	}
	return nil, false, p.fill()
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// fill reads more input, first making room by moving the unconsumed bytes
// to the front or by growing the buffer. A read error is kept and reported
// once the lines already read are consumed, so its returned error is
// always nil.
func (p *Parser) fill() error {
	if p.head > 0 {
		n := copy(p.buf, p.buf[p.head:p.tail])
		p.head, p.tail = 0, n
	}
	if p.tail == len(p.buf) {
		grown := make([]byte, 2*len(p.buf))
		copy(grown, p.buf[:p.tail])
		p.buf = grown
	}
	// A reader may return 0, nil; a few of those in a row are harmless
	// because Next simply calls again.
	n, err := p.r.Read(p.buf[p.tail:])
	p.tail += n
	if err != nil {
		p.readErr = err
	}
	return nil
}

// processLine applies one line to the parser's buffers, per the spec, and
// returns the item it produces, if any.
func (p *Parser) processLine(line []byte) (Item, bool) {
	if !utf8.Valid(line) {
		p.scratch = appendUTF8Decoded(p.scratch[:0], line)
		line = p.scratch
	}
	if len(line) == 0 {
		return p.dispatch()
	}
	if line[0] == ':' {
		return Item{Kind: KindComment, Comment: string(trimSpace(line[1:]))}, true
	}
	name, value := line, []byte(nil)
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		name, value = line[:c], trimSpace(line[c+1:])
	}
	switch string(name) {
	case "event":
		p.eventType = append(p.eventType[:0], value...)
	case "data":
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
		p.hasData = true
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			if string(value) != p.idBuf {
				p.idBuf = string(value)
			}
			p.blockID, p.hasID = p.idBuf, true
		}
	case "retry":
		if ms, ok := parseDigits(value); ok {
			p.reconnect = ms
			p.retry, p.hasRetry = ms, true
			return Item{Kind: KindRetry, Retry: ms}, true
		}
	}
	return Item{}, false
}

// dispatch runs the spec's "dispatch the event" steps at a blank line.
func (p *Parser) dispatch() (Item, bool) {
	p.lastEventID = p.idBuf // step 1: even when nothing is dispatched
	msg := Message{
		ID: p.blockID, HasID: p.hasID, LastEventID: p.lastEventID,
		Retry: p.retry, HasRetry: p.hasRetry,
	}
	dispatched := p.hasData
	if dispatched {
		msg.Data = string(p.data[:len(p.data)-1]) // the trailing LF removed
		if len(p.eventType) > 0 {
			if string(p.eventType) != p.lastType {
				p.lastType = string(p.eventType)
			}
			msg.Event = p.lastType
		}
	}
	p.data, p.hasData = p.data[:0], false
	p.eventType = p.eventType[:0]
	p.blockID, p.hasID = "", false
	p.retry, p.hasRetry = 0, false
	if !dispatched {
		return Item{}, false
	}
	return Item{Kind: KindMessage, Message: msg}, true
}

// trimSpace removes one leading U+0020, the only whitespace the spec strips.
func trimSpace(v []byte) []byte {
	if len(v) > 0 && v[0] == ' ' {
		return v[1:]
	}
	return v
}

// parseDigits accepts one or more ASCII digits. The spec sets no upper
// bound; a value that does not fit an int is ignored, as Chromium does,
// and so is an empty value, which is no integer at all.
func parseDigits(v []byte) (int, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const maxInt = int(^uint(0) >> 1)
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if n > (maxInt-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// appendUTF8Decoded appends src to dst with every ill-formed sequence
// replaced by U+FFFD the way the WHATWG UTF-8 decoder does it: one U+FFFD
// per maximal subpart of a sequence (Go's utf8 package would give one per
// byte). Decoding line by line is equivalent to decoding the stream because
// CR and LF are ASCII and never continue a multi-byte sequence.
func appendUTF8Decoded(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r != utf8.RuneError || size > 1 {
			dst = append(dst, src[i:i+size]...)
			i += size
			continue
		}
		dst = utf8.AppendRune(dst, utf8.RuneError)
		i += maximalSubpart(src[i:])
	}
	return dst
}

// maximalSubpart is the length of the ill-formed sequence at the start of b:
// a valid lead byte and the continuation bytes that still fit its ranges.
func maximalSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c >= 0xE0 && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F // no surrogates
		}
	case c >= 0xF0 && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F // nothing above U+10FFFF
		}
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}
