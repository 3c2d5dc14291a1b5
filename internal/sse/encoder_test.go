package sse

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzEncoder feeds arbitrary ids and payloads through the encoder and reads
// them back with the spec parser: whatever the payload holds (line breaks of
// every kind, colons, "id:" look-alikes, NUL, invalid UTF-8), exactly one
// event comes out, its data is the payload with line breaks normalised to
// LF, and no field is injected.
func FuzzEncoder(f *testing.F) {
	f.Add("1764270000000-0", []byte(`{"type":"density","data":{"zoneId":"a"}}`))
	f.Add("1-2", []byte("a\nb\r\nc\rd"))
	f.Add("x\ny", []byte("data: x\nid: 9\nretry: 1\n\n: comment"))
	f.Add("", []byte(""))
	f.Add("7", []byte("\xff\xfe bad utf8 \x00 nul"))
	f.Fuzz(func(t *testing.T, id string, data []byte) {
		frame := AppendEvent(nil, id, data)
		msgs, comments, err := ReadAll(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if len(comments) != 0 {
			t.Fatalf("payload produced comments %q", comments)
		}
		if len(msgs) != 1 {
			t.Fatalf("one event encoded, %d parsed from %q", len(msgs), frame)
		}
		m := msgs[0]
		want := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		if !validUTF8(data) {
			// The parser decodes as UTF-8 with replacement, as browsers do:
			// only compare payloads the wire can carry unchanged.
			return
		}
		if m.Data != want {
			t.Fatalf("data changed: got %q want %q", m.Data, want)
		}
		cleanID := strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return -1
			}
			return r
		}, id)
		if cleanID != "" && validUTF8([]byte(id)) && m.ID != cleanID {
			t.Fatalf("id %q became %q", cleanID, m.ID)
		}
		if m.Event != "" || m.HasRetry {
			t.Fatalf("payload injected a field: %+v", m)
		}
	})
}

func validUTF8(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

func BenchmarkAppendEventSmall(b *testing.B) {
	data := []byte(`{"type":"density","data":{"zoneId":"concourse-north","density":2.41,"smoothed":2.38,"level":"warning","occupancy":0.61,"trend":0.12,"timestamp":1764270000000}}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], "1764270000000-12", data)
	}
}
