//go:build ignore

// floor measures the lowest possible cost of a broadcast on this machine:
// one small non-blocking write(2) to each of 19,000 loopback sockets, with
// nothing else around it, the readers in another process on the other core.
//
//	ulimit -n 20000; taskset -c 1 go run scripts/floor.go reader &
//	ulimit -n 20000; taskset -c 0 go run scripts/floor.go
package main

import (
	"fmt"
	"net"
	"os"
	"sort"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "reader" {
		ln, _ := net.Listen("tcp", "127.0.0.1:19999")
		fmt.Println("ready")
		buf := make([]byte, 4096)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}
	const n = 19000
	fds := make([]int, 0, n)
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:19999")
		if err != nil {
			panic(err)
		}
		conns = append(conns, c)
		raw, _ := c.(*net.TCPConn).SyscallConn()
		raw.Control(func(fd uintptr) { fds = append(fds, int(fd)) })
	}
	time.Sleep(time.Second)
	msg := make([]byte, 220)
	var passes []time.Duration
	for k := 0; k < 10; k++ {
		t0 := time.Now()
		for _, fd := range fds {
			syscall.Write(fd, msg)
		}
		passes = append(passes, time.Since(t0))
		time.Sleep(300 * time.Millisecond)
	}
	sort.Slice(passes, func(i, j int) bool { return passes[i] < passes[j] })
	fmt.Printf("one write to each of %d sockets: median pass %v (%.2f µs per write)\n", n, passes[5], float64(passes[5].Microseconds())/n)
}
