package sse

import (
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/combine"
)

// CombineHTTP2 starts combining only on a TLS connection that negotiated
// h2, when its first stream is active. (Combining itself is package
// combine's, tested there.)
func TestCombineHTTP2StartsOnlyForH2(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	l := CombineListener(acceptOnce{a}, time.Millisecond, time.Second)
	c, _ := l.Accept()
	cc := c.(*combine.Conn)
	CombineHTTP2(cc, http.StateActive)                            // not TLS: plain HTTP/1.1
	CombineHTTP2(tls.Server(cc, &tls.Config{}), http.StateActive) // TLS, nothing negotiated
	if cc.Combining() {
		t.Fatal("combining a connection that did not negotiate h2")
	}
}

// acceptOnce is a listener that hands out one given connection.
type acceptOnce struct{ c net.Conn }

func (a acceptOnce) Accept() (net.Conn, error) { return a.c, nil }
func (a acceptOnce) Close() error              { return nil }
func (a acceptOnce) Addr() net.Addr            { return a.c.LocalAddr() }
