package sse

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// parseItems reads every item of r, failing the test on any error but EOF.
func parseItems(t testing.TB, r io.Reader) ([]Item, *Parser) {
	t.Helper()
	p := NewParser(r)
	var items []Item
	for {
		it, err := p.Next()
		if err == io.EOF {
			return items, p
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		items = append(items, it)
	}
}

func msg(m Message) Item    { return Item{Kind: KindMessage, Message: m} }
func comment(s string) Item { return Item{Kind: KindComment, Comment: s} }
func retry(ms int) Item     { return Item{Kind: KindRetry, Retry: ms} }

type parseCase struct {
	name   string
	in     string
	want   []Item
	lastID string // the parser's LastEventID at the end
}

// The first cases are the examples of WHATWG HTML §9.2.6 and §9.2.5, with
// the outcome the spec states for each; the rest are the edge cases of the
// interpretation rules.
var parseCases = []parseCase{
	{
		name: "spec: three data lines make one message",
		in:   "data: YHOO\ndata: +2\ndata: 10\n\n",
		want: []Item{msg(Message{Data: "YHOO\n+2\n10"})},
	},
	{
		name: "spec: comment, id, empty id, leading space, unfinished last block",
		in:   ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
		want: []Item{
			comment("test stream"),
			msg(Message{Data: "first event", ID: "1", HasID: true, LastEventID: "1"}),
			msg(Message{Data: "second event", ID: "", HasID: true, LastEventID: ""}),
		},
	},
	{
		name: "spec: data with no colon, a lone LF, and a discarded last block",
		in:   "data\n\ndata\ndata\n\ndata:",
		want: []Item{msg(Message{Data: ""}), msg(Message{Data: "\n"})},
	},
	{
		name: "spec: the space after the colon is optional",
		in:   "data:test\n\ndata: test\n\n",
		want: []Item{msg(Message{Data: "test"}), msg(Message{Data: "test"})},
	},
	{
		name: "spec: event types",
		in:   "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
		want: []Item{
			msg(Message{Event: "add", Data: "73857293"}),
			msg(Message{Event: "remove", Data: "2153"}),
			msg(Message{Event: "add", Data: "113411"}),
		},
	},
	{
		name: "only one space is removed",
		in:   "data:  x\n\ndata:x \n\n",
		want: []Item{msg(Message{Data: " x"}), msg(Message{Data: "x "})},
	},
	{
		name: "data: with a space and no value is an empty line of data",
		in:   "data: \n\n",
		want: []Item{msg(Message{Data: ""})},
	},
	{
		name:   "CR only line endings",
		in:     "id: 7\rdata: a\rdata: b\r\r:hb\r",
		want:   []Item{msg(Message{Data: "a\nb", ID: "7", HasID: true, LastEventID: "7"}), comment("hb")},
		lastID: "7",
	},
	{
		name: "CRLF line endings",
		in:   "data: a\r\ndata: b\r\n\r\n",
		want: []Item{msg(Message{Data: "a\nb"})},
	},
	{
		name: "mixed endings: LF CR is two line ends, CR LF is one",
		in:   "data: a\n\rdata: b\r\n\n",
		want: []Item{msg(Message{Data: "a"}), msg(Message{Data: "b"})},
	},
	{
		name: "a field with no colon is a name with an empty value",
		in:   "event\ndata\nid\n\n",
		want: []Item{msg(Message{Data: "", ID: "", HasID: true})},
	},
	{
		name: "unknown fields and odd names are ignored",
		in:   "foo: bar\nData: x\ndata : y\n data: z\ndata: kept\n\n",
		want: []Item{msg(Message{Data: "kept"})},
	},
	{
		name: "a value keeps later colons",
		in:   "data: a:b: c\n\n",
		want: []Item{msg(Message{Data: "a:b: c"})},
	},
	{
		name: "leading BOM is stripped",
		in:   "\xEF\xBB\xBFdata: x\n\n",
		want: []Item{msg(Message{Data: "x"})},
	},
	{
		name: "only one BOM is stripped: a second one is part of the field name",
		in:   "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n",
		want: []Item{msg(Message{Data: "y"})},
	},
	{
		name: "a BOM after the first line is no BOM",
		in:   "data: a\n\n\xEF\xBB\xBFdata: b\n\n",
		want: []Item{msg(Message{Data: "a"})},
	},
	{
		name:   "id containing NUL is ignored",
		in:     "id: 1\n\nid: a\x00b\ndata: x\n\n",
		want:   []Item{msg(Message{Data: "x", LastEventID: "1"})},
		lastID: "1",
	},
	{
		name:   "an event with no data is not dispatched but sets the last event id",
		in:     "id: 5\n\ndata: x\n\n",
		want:   []Item{msg(Message{Data: "x", LastEventID: "5"})},
		lastID: "5",
	},
	{
		name:   "the id is not committed before the blank line",
		in:     "data: x\n\nid: 9\ndata: y\n",
		want:   []Item{msg(Message{Data: "x"})},
		lastID: "",
	},
	{
		name: "retry with digits changes the reconnection time at once",
		in:   "retry: 1500\ndata: x\n\nretry: 0\n\n",
		want: []Item{retry(1500), msg(Message{Data: "x", Retry: 1500, HasRetry: true}), retry(0)},
	},
	{
		name: "retry that is not all ASCII digits is ignored",
		in:   "retry: 12a\nretry: -1\nretry: 1.5\nretry:  10\nretry: \nretry\nretry: \uff11\nretry: 99999999999999999999999\ndata: x\n\n",
		want: []Item{msg(Message{Data: "x"})},
	},
	{
		name: "event type resets after each block",
		in:   "event: a\n\ndata: x\n\nevent: b\ndata: y\n\ndata: z\n\n",
		want: []Item{msg(Message{Data: "x"}), msg(Message{Event: "b", Data: "y"}), msg(Message{Data: "z"})},
	},
	{
		name:   "the last event and id fields of a block win",
		in:     "event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n",
		want:   []Item{msg(Message{Event: "b", Data: "x", ID: "2", HasID: true, LastEventID: "2"})},
		lastID: "2",
	},
	{
		name:   "last event id carries over to later messages without an id",
		in:     "id: 3\ndata: a\n\ndata: b\n\n",
		want:   []Item{msg(Message{Data: "a", ID: "3", HasID: true, LastEventID: "3"}), msg(Message{Data: "b", LastEventID: "3"})},
		lastID: "3",
	},
	{
		name: "event without a trailing blank line at EOF is not dispatched",
		in:   "data: done\n\nevent: x\ndata: lost\n",
		want: []Item{msg(Message{Data: "done"})},
	},
	{
		name: "an unterminated last line is not processed",
		in:   "data: a\n\n: no newline",
		want: []Item{msg(Message{Data: "a"})},
	},
	{
		name: "comments: with and without the space, empty, and between fields",
		in:   ":\n: heartbeat 1764270000000\n:  two\ndata: a\n:mid\ndata: b\n\n",
		want: []Item{comment(""), comment("heartbeat 1764270000000"), comment(" two"), comment("mid"), msg(Message{Data: "a\nb"})},
	},
	{
		name: "blank lines alone dispatch nothing",
		in:   "\n\n\r\n\r\r",
		want: nil,
	},
	{
		name: "non-ASCII survives",
		in:   "event: zone·Nord\ndata: {\"name\":\"Zuschauerbereich Süd 🏟\"}\n\n",
		want: []Item{msg(Message{Event: "zone·Nord", Data: "{\"name\":\"Zuschauerbereich Süd 🏟\"}"})},
	},
	{
		name: "invalid UTF-8 becomes U+FFFD per maximal subpart",
		in:   "data: a\xffb\xe2\x82c\xed\xa0\x80d\xf0\x9f\x98\n\n",
		want: []Item{msg(Message{Data: "a\uFFFDb\uFFFDc\uFFFD\uFFFD\uFFFDd\uFFFD"})},
	},
	{
		name: "a UTF-16 BOM is two replacement characters, not a BOM",
		in:   "\xFF\xFEdata: 1\n\ndata: 2\n\n",
		want: []Item{msg(Message{Data: "2"})},
	},
	{
		name: "NUL is allowed in data and event",
		in:   "event: a\x00\ndata: b\x00c\n\n",
		want: []Item{msg(Message{Event: "a\x00", Data: "b\x00c"})},
	},
}

func TestParserSpecCases(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			// Whole, one byte at a time, and with the EOF arriving together
			// with the last bytes: the chunking must never change the result
			// (a CR at the end of one read and an LF at the start of the
			// next are one line ending).
			readers := map[string]io.Reader{
				"whole":    strings.NewReader(tc.in),
				"bytewise": iotest.OneByteReader(strings.NewReader(tc.in)),
				"dataErr":  iotest.DataErrReader(strings.NewReader(tc.in)),
			}
			for how, r := range readers {
				got, p := parseItems(t, r)
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s: items\n got %#v\nwant %#v", how, got, tc.want)
				}
				if p.LastEventID() != tc.lastID {
					t.Errorf("%s: LastEventID = %q, want %q", how, p.LastEventID(), tc.lastID)
				}
			}
		})
	}
}

func TestMessageType(t *testing.T) {
	if got := (Message{}).Type(); got != "message" {
		t.Errorf("Type of a message without event field = %q, want message", got)
	}
	if got := (Message{Event: "alert"}).Type(); got != "alert" {
		t.Errorf("Type = %q, want alert", got)
	}
}

func TestReadAll(t *testing.T) {
	in := ": hello\nretry: 10\nid: 1\nevent: density\ndata: {}\n\n: heartbeat 2\ndata: x\n\n"
	msgs, comments, err := ReadAll(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs := []Message{
		{Event: "density", Data: "{}", ID: "1", HasID: true, LastEventID: "1", Retry: 10, HasRetry: true},
		{Data: "x", LastEventID: "1"},
	}
	if !reflect.DeepEqual(msgs, wantMsgs) {
		t.Errorf("messages\n got %#v\nwant %#v", msgs, wantMsgs)
	}
	if want := []string{"hello", "heartbeat 2"}; !reflect.DeepEqual(comments, want) {
		t.Errorf("comments = %q, want %q", comments, want)
	}
}

func TestReconnect(t *testing.T) {
	_, p := parseItems(t, strings.NewReader("data: x\n\n"))
	if _, ok := p.Reconnect(); ok {
		t.Error("Reconnect reported a time before any retry field")
	}
	_, p = parseItems(t, strings.NewReader("retry: 3000\nretry: x\n"))
	if ms, ok := p.Reconnect(); !ok || ms != 3000 {
		t.Errorf("Reconnect = %d, %v; want 3000, true", ms, ok)
	}
}

// A live stream must deliver an event as soon as its blank line arrives,
// also when lines end in a bare CR: the parser may not wait for the next
// byte to learn whether an LF follows.
func TestParserDispatchesWithoutReadingAhead(t *testing.T) {
	for _, ending := range []string{"\n", "\r", "\r\n"} {
		t.Run(strconv.Quote(ending), func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			p := NewParser(pr)
			items := make(chan Item)
			errs := make(chan error, 1)
			go func() {
				for {
					it, err := p.Next()
					if err != nil {
						errs <- err
						return
					}
					items <- it
				}
			}()
			for i, id := range []string{"1", "2"} {
				block := "id: " + id + ending + "data: d" + id + ending + ending
				go pw.Write([]byte(block)) // the pipe blocks until read
				select {
				case it := <-items:
					if it.Kind != KindMessage || it.Message.Data != "d"+id || it.Message.LastEventID != id {
						t.Fatalf("event %d: got %#v", i, it)
					}
				case err := <-errs:
					t.Fatalf("event %d: %v", i, err)
				case <-time.After(5 * time.Second):
					t.Fatalf("event %d not dispatched before more bytes arrived", i)
				}
			}
		})
	}
}

func TestParserReturnsReadErrorAfterCompleteLines(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	p := NewParser(r)
	it, err := p.Next()
	if err != nil || it.Message.Data != "a" {
		t.Fatalf("first Next = %#v, %v", it, err)
	}
	if _, err := p.Next(); !errors.Is(err, boom) {
		t.Fatalf("second Next error = %v, want %v", err, boom)
	}
}

func TestParserLineLimit(t *testing.T) {
	p := NewParser(strings.NewReader("data: " + strings.Repeat("x", 1000) + "\n\n"))
	p.SetMaxLineBytes(100)
	if _, err := p.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Next error = %v, want ErrLineTooLong", err)
	}
	// A line just under the limit in a much larger stream still parses,
	// even though the buffer has to grow or compact around it.
	long := strings.Repeat("y", 90_000)
	p = NewParser(strings.NewReader(strings.Repeat("data: "+long+"\n\n", 3)))
	p.SetMaxLineBytes(100_000)
	for i := range 3 {
		it, err := p.Next()
		if err != nil || it.Message.Data != long {
			t.Fatalf("message %d: err %v, data length %d", i, err, len(it.Message.Data))
		}
	}
}

// encodeForTest writes messages back as an event stream, following the
// spec's authoring rules, so that parsing the output must give the same
// messages. It is deliberately separate from the package's encoder: the
// parser's tests should not depend on the code the parser is meant to check.
func encodeForTest(msgs []Message) string {
	var b strings.Builder
	last := ""
	for _, m := range msgs {
		if !m.HasID && m.LastEventID != last {
			// A block with only an id sets the last event id and
			// dispatches nothing.
			fmt.Fprintf(&b, "id: %s\n\n", m.LastEventID)
		}
		last = m.LastEventID
		if m.Event != "" {
			fmt.Fprintf(&b, "event: %s\n", m.Event)
		}
		if m.HasID {
			fmt.Fprintf(&b, "id: %s\n", m.ID)
		}
		if m.HasRetry {
			fmt.Fprintf(&b, "retry: %d\n", m.Retry)
		}
		for line := range strings.SplitSeq(m.Data, "\n") {
			fmt.Fprintf(&b, "data: %s\n", line)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func FuzzParser(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, _ := parseItems(t, strings.NewReader(string(in)))
		bytewise, _ := parseItems(t, iotest.OneByteReader(strings.NewReader(string(in))))
		if !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("chunking changed the result\nwhole    %#v\nbytewise %#v", whole, bytewise)
		}
		var msgs []Message
		for _, it := range whole {
			switch it.Kind {
			case KindMessage:
				m := it.Message
				for _, s := range []string{m.Event, m.Data, m.ID, m.LastEventID} {
					if !utf8.ValidString(s) || strings.ContainsRune(s, '\r') {
						t.Fatalf("field %q is not CR-free UTF-8", s)
					}
				}
				if strings.ContainsAny(m.Event+m.ID, "\n") || strings.ContainsRune(m.ID+m.LastEventID, 0) {
					t.Fatalf("event or id holds a line break or NUL: %#v", m)
				}
				if m.HasID && m.ID != m.LastEventID {
					t.Fatalf("block id %q but lastEventId %q", m.ID, m.LastEventID)
				}
				msgs = append(msgs, m)
			case KindComment:
				if strings.ContainsAny(it.Comment, "\r\n") {
					t.Fatalf("comment holds a line break: %q", it.Comment)
				}
			case KindRetry:
				if it.Retry < 0 {
					t.Fatalf("negative retry %d", it.Retry)
				}
			default:
				t.Fatalf("item of no kind: %#v", it)
			}
		}
		again, _, err := ReadAll(strings.NewReader(encodeForTest(msgs)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, msgs) {
			t.Fatalf("re-encoding changed the messages\nfirst %#v\nagain %#v", msgs, again)
		}
	})
}

// benchStream is what the density stream sends: an id, a type and a JSON
// reading per event, with a heartbeat now and then.
func benchStream(events int) []byte {
	var b strings.Builder
	for i := range events {
		if i%1000 == 0 {
			fmt.Fprintf(&b, ": heartbeat %d\n\n", 1764270000000+i)
		}
		fmt.Fprintf(&b, "id: 1764270000000-%d\nevent: density\ndata: {\"type\":\"density\",\"data\":{\"zoneId\":\"north-stand\",\"density\":%d.25,\"level\":\"watch\",\"timestamp\":%d}}\n\n",
			i, i%7, 1764270000000+i)
	}
	return []byte(b.String())
}

func BenchmarkParser(b *testing.B) {
	const events = 10_000
	stream := benchStream(events)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		p := NewParser(strings.NewReader(string(stream)))
		n := 0
		for {
			it, err := p.Next()
			if err != nil {
				break
			}
			if it.Kind == KindMessage {
				n++
			}
		}
		if n != events {
			b.Fatalf("parsed %d events, want %d", n, events)
		}
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
}
