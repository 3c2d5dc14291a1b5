package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// H2Config is the HTTP/2 mode (--h2): the streams are opened the way a
// browser opens them against an HTTPS engine, multiplexed over a few TLS
// connections with StreamsPerConn streams each (browsers put every stream to
// one host on one connection; 100 is a common cap of theirs), through Go's
// own HTTP/2 client. Readings and metrics go over HTTPS too, on a
// connection of their own.
type H2Config struct {
	Enabled        bool
	StreamsPerConn int
	CAFile         string // PEM certificates to trust; default the system's
}

func (h *H2Config) register(fs *flag.FlagSet) {
	fs.BoolVar(&h.Enabled, "h2", false, "HTTP/2 mode: --url https://..., streams multiplexed over TLS connections")
	fs.IntVar(&h.StreamsPerConn, "streams-per-conn", 100, "HTTP/2 mode: streams per TLS connection")
	fs.StringVar(&h.CAFile, "ca", "", "HTTP/2 mode: PEM file of the certificate(s) to trust (e.g. the engine's self-signed --tls-cert)")
}

func (h H2Config) validate(scheme string) error {
	switch {
	case !h.Enabled && scheme != "http":
		return fmt.Errorf("--url must be http://host:port (or https:// with --h2)")
	case h.Enabled && scheme != "https":
		return fmt.Errorf("--h2 needs an https:// --url: browsers speak HTTP/2 over TLS only")
	case h.Enabled && h.StreamsPerConn <= 0:
		return fmt.Errorf("--streams-per-conn must be positive")
	}
	return nil
}

func (h H2Config) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if h.CAFile != "" {
		pem, err := os.ReadFile(h.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", h.CAFile)
		}
	}
	return c, nil
}

// h2Transport is one HTTP/2 client connection's worth of transport: each
// group of StreamsPerConn streams gets its own, so that its streams share
// exactly one TLS connection (a Transport keeps one HTTP/2 connection per
// host and adds more only beyond the server's stream limit, 250).
func h2Transport(tc *tls.Config, dials *atomic.Int64) *http.Transport {
	return &http.Transport{
		TLSClientConfig:    tc.Clone(),
		ForceAttemptHTTP2:  true,
		DisableCompression: true,
		MaxConnsPerHost:    1, // one dial at a time: the first stream's connection is shared
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
}

// h2Streams opens and reads the HTTP/2 streams; arrivals are counted by
// the shared streams (the same side table, histogram and failures as the
// HTTP/1.1 mode).
type h2Streams struct {
	s     *streams
	url   string
	token string
	tls   *tls.Config
	per   int
	dials atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	trs    []*http.Transport
}

func newH2Streams(s *streams, url, token string, h H2Config) (*h2Streams, error) {
	tc, err := h.tlsConfig()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &h2Streams{s: s, url: url, token: token, tls: tc, per: h.StreamsPerConn, ctx: ctx, cancel: cancel}, nil
}

// apiTransport is for the readings, zones and metrics: HTTPS too, on
// connections of their own.
func (h H2Config) apiTransport() (*http.Transport, error) {
	tc, err := h.tlsConfig()
	if err != nil {
		return nil, err
	}
	var none atomic.Int64
	tr := h2Transport(tc, &none)
	tr.MaxConnsPerHost = 0
	return tr, nil
}

// open opens n streams, StreamsPerConn per connection. The first stream of
// each connection is opened alone (it dials); the rest of its group then
// follow concurrently over that connection. It waits until each stream has
// its "connected" message or failed.
func (h *h2Streams) open(ctx context.Context, n, concurrency int, timeout time.Duration) (made, failed int) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	results := make(chan error, n)
	sem := make(chan struct{}, concurrency)
	for first := 0; first < n; first += h.per {
		size := min(h.per, n-first)
		tr := h2Transport(h.tls, &h.dials)
		h.mu.Lock()
		h.trs = append(h.trs, tr)
		h.mu.Unlock()
		hc := &http.Client{Transport: tr}
		opened := make(chan error, 1)
		h.start(ctx, hc, func(err error) { opened <- err })
		err := <-opened
		results <- err
		for i := 1; i < size; i++ {
			if err != nil {
				results <- err // the connection failed: so do its streams
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results <- ctx.Err()
				continue
			}
			h.start(ctx, hc, func(err error) { <-sem; results <- err })
		}
	}
	for i := 0; i < n; i++ {
		if err := <-results; err != nil {
			failed++
			h.s.fail(err)
		} else {
			made++
		}
	}
	return made, failed
}

func (h *h2Streams) start(ctx context.Context, hc *http.Client, ready func(error)) {
	h.s.wg.Add(1)
	go func() {
		defer h.s.wg.Done()
		h.run(ctx, hc, ready)
	}()
}

// run is one HTTP/2 subscriber: request, then read until closed. ready is
// called exactly once, with nil after the "connected" message. The open
// timeout bounds the request until then; the stream itself lives until
// close.
func (h *h2Streams) run(openCtx context.Context, hc *http.Client, ready func(error)) {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, h.url, nil)
	if err != nil {
		ready(err)
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("User-Agent", "crowdrisk-bench")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	type opened struct {
		resp *http.Response
		err  error
	}
	got := make(chan opened, 1)
	go func() {
		resp, err := hc.Do(req)
		got <- opened{resp, err}
	}()
	var o opened
	select {
	case o = <-got:
	case <-openCtx.Done():
		ready(openCtx.Err())
		return
	}
	if o.err != nil {
		ready(o.err)
		return
	}
	resp := o.resp
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		ready(fmt.Errorf("%s %s: %s", resp.Proto, resp.Status, bytes.TrimSpace(b)))
		return
	}
	r := &eventReader{r: bufio.NewReaderSize(resp.Body, 2048)}
	// No deadline to clear: the open timeout bounded the request, and
	// close cancels h.ctx only after it marked the benchmark closing.
	h.s.consume(nil, r.next, "stream", ready, nil, h.s.arrive)
}

// close ends every stream (before streams.close waits for the readers).
func (h *h2Streams) close() {
	h.s.closing.Store(true)
	h.cancel()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, tr := range h.trs {
		tr.CloseIdleConnections()
	}
}
