//go:build !linux

package bench

import "net"

// poller is Linux-only; elsewhere every stream reads in its own goroutine.
type poller struct{}

func newPoller(*streams) *poller          { return nil }
func (*poller) add(net.Conn, []byte) bool { return false }
func (*poller) close()                    {}
