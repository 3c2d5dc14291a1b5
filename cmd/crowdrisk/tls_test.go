package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testcert"

	"github.com/crowdrisk/crowdrisk/internal/sse"
)

// The real binary with --tls-cert/--tls-key serves HTTPS and HTTP/2: 30
// streams from one client share one TLS connection, each gets a reading
// posted over the same connection, and SIGTERM tells each to come back.
func TestBinaryServesStreamsOverHTTP2(t *testing.T) {
	dir := t.TempDir()
	cert, certFile, keyFile := testcert.Write(t, dir)
	roots := cert.Roots
	addr := freeAddr(t)
	out := &syncBuffer{}
	cmd := exec.Command(binary, "--addr", addr, "--data-dir", filepath.Join(dir, "data"), "--simulate=false",
		"--heartbeat", "1s", "--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	var dials atomic.Int64
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err == nil { // the polls before the engine listens do not count
				dials.Add(1)
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	base := "https://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Fatalf("healthz over %s, want HTTP/2", resp.Proto)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS answer: %v\n%s", err, out.String())
		}
	}
	if !strings.Contains(out.String(), "https://"+addr) {
		t.Fatalf("the start-up lines do not give the https address:\n%s", out.String())
	}
	// The metrics show when the served certificate expires.
	pemBytes, _ := os.ReadFile(certFile)
	blk, _ := pem.Decode(pemBytes)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	mresp, err := hc.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	const expiry = "crowdrisk_tls_certificate_expiry_timestamp_seconds "
	i := strings.Index(string(metricsText), "\n"+expiry)
	if i < 0 {
		t.Fatalf("no %s in /metrics", expiry)
	}
	line, _, _ := strings.Cut(string(metricsText[i+1+len(expiry):]), "\n")
	if v, err := strconv.ParseFloat(line, 64); err != nil || int64(v) != leaf.NotAfter.Unix() {
		t.Fatalf("%s%s, want %d", expiry, line, leaf.NotAfter.Unix())
	}

	const n = 30
	streams := make([]*stream, n)
	for i := range streams {
		resp, err := hc.Get(base + "/api/crowd-risk/stream?topics=density,alerts")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("stream %d: %s %d", i, resp.Proto, resp.StatusCode)
		}
		s := &stream{msgs: make(chan sse.Message, 1000), end: make(chan error, 1), body: resp.Body}
		t.Cleanup(func() { resp.Body.Close() })
		go func() {
			p := sse.NewParser(resp.Body)
			for {
				it, err := p.Next()
				if err != nil {
					s.end <- err
					close(s.msgs)
					return
				}
				if it.Kind == sse.KindMessage {
					s.msgs <- it.Message
				}
			}
		}()
		streams[i] = s
	}
	ts := time.Now().UnixMilli()
	resp, err := hc.Post(base+"/api/crowd-risk/readings", "application/json",
		bytes.NewReader([]byte(fmt.Sprintf(`{"zoneId":"gate-a","density":1.25,"timestamp":%d}`, ts))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("POST readings: %d", resp.StatusCode)
	}
	want := fmt.Sprintf(`"timestamp":%d`, ts)
	for _, s := range streams {
		s.until(t, 10*time.Second, func(m sse.Message) bool {
			return strings.Contains(m.Data, `"zoneId":"gate-a"`) && strings.Contains(m.Data, want)
		})
	}
	if got := dials.Load(); got != 1 {
		t.Fatalf("%d connections for %d streams and the API calls, want 1", got, n)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	for i, s := range streams {
		s.until(t, 15*time.Second, func(m sse.Message) bool { return decodeMsg(t, m).Type == "reconnect" })
		if err := <-s.end; err == nil {
			t.Fatalf("stream %d: no end after the reconnect message", i)
		}
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("crowdrisk did not stop on SIGTERM:\n%s", out.String())
	}
}

// A certificate without its key, or a key file that is not there, stops
// the start with one line naming the flag.
func TestBinaryRefusesHalfATLSConfig(t *testing.T) {
	dir := t.TempDir()
	_, certFile, _ := testcert.Write(t, dir)
	for _, args := range [][]string{
		{"--tls-cert", certFile},
		{"--tls-cert", certFile, "--tls-key", filepath.Join(dir, "missing.pem")},
	} {
		all := append([]string{"--addr", freeAddr(t), "--data-dir", filepath.Join(dir, "data")}, args...)
		out, err := exec.Command(binary, all...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("%v: err %v, output %s", args, err, out)
		}
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "--tls-") {
			t.Fatalf("%v: want one line naming the flag, got:\n%s", args, out)
		}
	}
}
