package sse

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// A hostile client that opens streams and resets them at once, as fast as
// it can write (the "rapid reset" attack, CVE-2023-44487), on the HTTP/2
// server the engine uses: a screen on another connection keeps getting
// its alerts meanwhile, and once the attacker is gone no subscription it
// started is left in the hub.
func TestHTTP2RapidResetLeavesNothingBehind(t *testing.T) {
	f := newH2Fixture(t, Options{}, hub.Options{})
	screen := f.open(t, "/stream?topics=alerts", nil)
	if p := decode(t, screen.message(t)); p.Type != "connected" {
		t.Fatalf("first message %+v", p)
	}
	base := f.hub.Subscribers()

	tc := f.client.Transport.(*http.Transport).TLSClientConfig.Clone()
	tc.NextProtos = []string{"h2"}
	host := strings.TrimPrefix(f.url, "https://")
	conn, err := tls.Dial("tcp", host, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	// Read (and drop) whatever the server sends, so that its writes never
	// block; note a GOAWAY.
	goaway := make(chan http2.ErrCode, 1)
	pong := make(chan struct{})
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		fr := http2.NewFramer(nil, conn)
		for {
			fm, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch fm := fm.(type) {
			case *http2.GoAwayFrame:
				select {
				case goaway <- fm.ErrCode:
				default:
				}
			case *http2.PingFrame:
				if fm.IsAck() {
					close(pong)
				}
			}
		}
	}()

	bw := bufio.NewWriterSize(conn, 64<<10)
	fr := http2.NewFramer(bw, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	if _, err := bw.WriteString(http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	const pairs = 5000
	sent := 0
	for i := range pairs {
		id := uint32(2*i + 1)
		hb.Reset()
		for _, h := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", "/stream?topics=alerts"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			break
		}
		if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
		if i%100 == 99 && bw.Flush() != nil {
			break // the server gave up on us: that is allowed
		}
		sent++
	}
	// A PING after the flood: its answer means the server read every
	// frame before it (unless it closed the connection first).
	_ = fr.WritePing(false, [8]byte{1})
	_ = bw.Flush()
	t.Logf("%d HEADERS+RST_STREAM pairs written", sent)
	select {
	case <-pong:
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the PING after the flood, and the connection is open")
	}

	// The screen still gets what is published, in time.
	ev := f.publish(event.TopicAlerts, "alert", "", 1)
	got := make(chan string, 1)
	go func() { got <- screen.message(t).ID }()
	select {
	case id := <-got:
		if id != ev.ID.String() {
			t.Fatalf("screen got %q, want %q", id, ev.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the screen got nothing within 5 s of a publish during the flood")
	}

	select {
	case code := <-goaway:
		t.Logf("the server sent GOAWAY %v", code)
	default:
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for f.hub.Subscribers() != base {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions in the hub 5 s after the attacker left, want %d", f.hub.Subscribers(), base)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
