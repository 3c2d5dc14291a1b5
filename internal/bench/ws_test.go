package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"
)

// The WebSocket subscribers of `crowdrisk bench --transport ws` against the
// real engine: every stream made, every reading counted once.
func TestStreamModeOverWebSocket(t *testing.T) {
	cfg := smallConfig(startEngine(t))
	cfg.Transport = TransportWS
	var progress bytes.Buffer
	rep, err := Run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatal(err, progress.String())
	}
	checkStreams(t, rep, 20)
	if rep.ReadingsSent < 60 || rep.ReadingsAccepted != rep.ReadingsSent {
		t.Fatalf("readings: %d sent, %d accepted; failures %v", rep.ReadingsSent, rep.ReadingsAccepted, rep.Failures)
	}
	if rep.Received > rep.Expected || rep.ShareDelivered < 0.9 {
		t.Errorf("received %d of %d (share %.3f)", rep.Received, rep.Expected, rep.ShareDelivered)
	}
	checkLatency(t, rep.Latency, rep.Received)
}

func TestFrameReader(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	var in []byte
	in = append(in, 0x81, 5)
	in = append(in, "hello"...)
	in = append(in, 0x89, 0) // a ping, skipped
	in = append(in, 0x01, 3) // a fragment...
	in = append(in, "abc"...)
	in = append(in, 0x80, 3) // ...and its end
	in = append(in, "def"...)
	in = append(in, 0x81, 126, 1, 44) // 300 bytes, 16-bit length
	in = append(in, long...)
	in = append(in, 0x88, 0) // close
	f := &frameReader{r: bufio.NewReader(bytes.NewReader(in))}
	for _, want := range []string{"hello", "abcdef", string(long)} {
		got, err := f.next()
		if err != nil || string(got) != want {
			t.Fatalf("got %.20q, %v; want %.20q", got, err, want)
		}
	}
	if _, err := f.next(); !errors.Is(err, errClosed) {
		t.Fatalf("after the close frame: %v", err)
	}
}
