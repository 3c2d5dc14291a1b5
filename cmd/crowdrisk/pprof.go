//go:build pprof

// A binary built with -tags pprof serves Go's profiler on
// CROWDRISK_PPROF_ADDR (loopback only), for measuring the engine under the
// load of `crowdrisk bench` (BENCHMARKS.md). Release builds have no such
// endpoint: it would show the process's memory to whoever reaches it.
//
//	go build -tags pprof -o /tmp/crowdrisk-pprof ./cmd/crowdrisk
//	CROWDRISK_PPROF_ADDR=127.0.0.1:6060 taskset -c 0 /tmp/crowdrisk-pprof serve ...
//	go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=8
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers on http.DefaultServeMux, which only this listener serves
	"os"
	"strings"
)

func init() {
	addr := os.Getenv("CROWDRISK_PPROF_ADDR")
	if addr == "" {
		return
	}
	if len(os.Args) > 1 && os.Args[1] != "serve" && !strings.HasPrefix(os.Args[1], "-") {
		return // bench, replay, chaos: the engine is what is profiled
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "crowdrisk: CROWDRISK_PPROF_ADDR %q: want a loopback address and port\n", addr)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crowdrisk: pprof:", err)
		os.Exit(2)
	}
	go http.Serve(ln, nil)
}
