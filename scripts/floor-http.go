//go:build ignore

// floor-http measures the lowest possible cost of one reading per request
// on this machine: a net/http server that reads each POST's body and answers
// 202 with a fixed small JSON, nothing else, on one core, under the same
// load as `crowdrisk bench --ingest --sensors 1000` (which it serves: the
// zone list and a /metrics with the process's CPU time).
//
//	taskset -c 0 go run scripts/floor-http.go &
//	taskset -c 1 crowdrisk bench --url http://127.0.0.1:18081 --subscribers 0 --ingest --sensors 1000 --duration 10s
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"syscall"
)

func main() {
	var zones strings.Builder
	zones.WriteByte('[')
	for z := range 50 {
		if z > 0 {
			zones.WriteByte(',')
		}
		fmt.Fprintf(&zones, `{"id":"z%02d"}`, z)
	}
	zones.WriteByte(']')
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/crowd-risk/zones", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, zones.String())
	})
	mux.HandleFunc("POST /api/crowd-risk/readings", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"accepted":1}`)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", cpu)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:18081", mux))
}
