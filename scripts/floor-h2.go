//go:build ignore

// floor-h2 measures the lowest cost of an HTTP/2 event stream's delivery on
// this machine: HTTPS with HTTP/2 served the way the engine serves it
// (x/net's server with the engine's write scheduler, the frames of a
// connection's streams combined into few write(2)s under TLS: -combine and
// -xnet, both on by default), but with none of the engine: each stream's
// handler waits on a channel of ready-made messages and sends what waits
// with one Write and one Flush. It serves what `crowdrisk bench --h2` needs
// (the zone list, the readings, the streams and a /metrics with the
// process's CPU time), so the same load drives it:
//
//	taskset -c 0 go run scripts/floor-h2.go -cert cert.pem -key key.pem &
//	taskset -c 1 crowdrisk bench --url https://127.0.0.1:18444 --h2 --ca cert.pem \
//	    --streams-per-conn 100 --subscribers 5000 --rate 20 --duration 30s --settle 5s
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
)

type floor struct {
	mu      sync.Mutex
	subs    map[chan []byte]struct{}
	dropped int64
}

func (f *floor) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "data: {\"type\":\"connected\"}\n\n")
	if rc.Flush() != nil {
		return
	}
	ch := make(chan []byte, 64)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}()
	done := r.Context().Done()
	var buf []byte
	for {
		select {
		case b := <-ch:
			// What waits leaves in one Write and one Flush, as the engine's
			// HTTP/2 path sends it.
			buf = append(buf[:0], b...)
		more:
			for {
				select {
				case b := <-ch:
					buf = append(buf, b...)
				default:
					break more
				}
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case <-done:
			return
		}
	}
}

// readings formats each reading once and hands it to every stream.
func (f *floor) readings(w http.ResponseWriter, r *http.Request) {
	var rs []struct {
		ZoneID    string  `json:"zoneId"`
		Density   float64 `json:"density"`
		Timestamp int64   `json:"timestamp"`
	}
	if err := json.NewDecoder(r.Body).Decode(&rs); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, x := range rs {
		msg := []byte(fmt.Sprintf("data: {\"type\":\"density\",\"data\":{\"zoneId\":%q,\"density\":%g,\"timestamp\":%d}}\n\n", x.ZoneID, x.Density, x.Timestamp))
		f.mu.Lock()
		for ch := range f.subs {
			select {
			case ch <- msg:
			default:
				f.dropped++
			}
		}
		f.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"accepted":%d}`, len(rs))
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18444", "listen address")
	cert := flag.String("cert", "cert.pem", "TLS certificate")
	key := flag.String("key", "key.pem", "TLS key")
	combine := flag.Bool("combine", true, "combine HTTP/2 connections' writes as the engine does")
	xnet := flag.Bool("xnet", true, "x/net's HTTP/2 server with the engine's write scheduler (else net/http's)")
	flag.Parse()

	f := &floor{subs: map[chan []byte]struct{}{}}
	var zones strings.Builder
	zones.WriteByte('[')
	for z := range 14 {
		if z > 0 {
			zones.WriteByte(',')
		}
		fmt.Fprintf(&zones, `{"id":"z%02d"}`, z)
	}
	zones.WriteByte(']')
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /api/crowd-risk/zones", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, zones.String())
	})
	mux.HandleFunc("POST /api/crowd-risk/readings", f.readings)
	mux.HandleFunc("GET /api/crowd-risk/stream", f.stream)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		f.mu.Lock()
		n, dropped := len(f.subs), f.dropped
		f.mu.Unlock()
		fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", cpu)
		fmt.Fprintf(w, "# TYPE floor_streams gauge\nfloor_streams %d\n# TYPE floor_dropped counter\nfloor_dropped %d\n", n, dropped)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	if *combine {
		ln = sse.CombineListener(ln, 2*time.Millisecond, 10*time.Second)
		srv.ConnState = sse.CombineHTTP2
	}
	if *xnet {
		if err := sse.ConfigureHTTP2(srv); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("floor-h2 on https://%s (combine %v, x/net %v)", *addr, *combine, *xnet)
	log.Fatal(srv.ServeTLS(ln, *cert, *key))
}
