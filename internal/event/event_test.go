package event

import "testing"

// countingCodec records how often the event asked it for its bytes.
type countingCodec struct{ frames, deflates int }

func (c *countingCodec) Frame(e *Event) []byte {
	c.frames++
	return append([]byte("frame:"), e.Data...)
}

func (c *countingCodec) Deflate(b []byte) []byte {
	c.deflates++
	return append([]byte("z:"), b...)
}

// The frame comes from the codec the caller passes, computed once and
// shared: nothing has to be installed first (issue 13 item 7).
func TestFrameUsesTheGivenCodecOnce(t *testing.T) {
	c := &countingCodec{}
	e := &Event{Data: []byte(`{"type":"density"}`)}
	for range 3 {
		if got := string(e.Frame(c)); got != `frame:{"type":"density"}` {
			t.Fatalf("Frame = %q", got)
		}
		if got := string(e.Deflated(c)); got != `z:frame:{"type":"density"}` {
			t.Fatalf("Deflated = %q", got)
		}
	}
	if c.frames != 1 || c.deflates != 1 {
		t.Fatalf("codec called %d times for the frame and %d for the deflate, want once each", c.frames, c.deflates)
	}
}
