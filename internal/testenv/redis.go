package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a redis-server process owned by a test. It keeps its port
// across Stop and Start, so a test can take Redis away under load and bring
// it back where the clients expect it.
type RedisServer struct {
	t      testing.TB
	bin    string
	dir    string
	port   int
	config string

	process
}

// RedisOption changes how Redis is started.
type RedisOption func(*redisOptions)

type redisOptions struct{ appendOnly bool }

// WithPersistence turns on the append-only file (fsync on every write), so
// data survives Stop and Start. Without it Redis keeps nothing on disk.
func WithPersistence() RedisOption { return func(o *redisOptions) { o.appendOnly = true } }

// Redis starts a redis-server on a free loopback port in t.TempDir() and
// stops it when the test ends.
func Redis(t testing.TB, opts ...RedisOption) *RedisServer {
	t.Helper()
	var o redisOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := lookBinary("redis-server", "redis-server")
	if err != nil {
		t.Fatal(err)
	}
	r := &RedisServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(r.Stop)
	// The port is only known free when chosen; retry if something took it.
	if err := onFreePort(func(port int) error {
		r.port = port
		r.config = r.writeConfig(o)
		return r.start()
	}); err != nil {
		t.Fatalf("testenv: start redis: %v", err)
	}
	return r
}

func (r *RedisServer) writeConfig(o redisOptions) string {
	conf := []string{
		"bind 127.0.0.1",
		fmt.Sprintf("port %d", r.port),
		"dir " + r.dir,
		"logfile " + filepath.Join(r.dir, "redis.log"),
		"daemonize no",
		"save \"\"",
		"appendonly no",
		"protected-mode yes",
	}
	if o.appendOnly {
		conf = append(conf, "appendonly yes", "appendfsync always")
	}
	path := filepath.Join(r.dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		r.t.Fatalf("testenv: write redis config: %v", err)
	}
	return path
}

// Addr is host:port for clients.
func (r *RedisServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// URL is the redis:// URL of the server.
func (r *RedisServer) URL() string { return "redis://" + r.Addr() + "/0" }

// Start starts the server again after Stop, on the same port. It does
// nothing when the server is running.
func (r *RedisServer) Start() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("testenv: restart redis: %v", err)
	}
}

func (r *RedisServer) start() error {
	return r.process.start(killed(r.bin, r.config),
		func(exited <-chan struct{}) error { return waitRedis(r.Addr(), exited, 10*time.Second) },
		func() string { return logTail(filepath.Join(r.dir, "redis.log")) })
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 5 s) and waits
// until it has exited and released its port. Stopping a stopped server does
// nothing.
func (r *RedisServer) Stop() { r.stop(syscall.SIGTERM) }

// Kill ends the server with SIGKILL, a crash: no shutdown, no final save.
func (r *RedisServer) Kill() { r.stop(syscall.SIGKILL) }

// waitRedis waits until the server answers PING (it accepts connections
// a moment before it serves them while it loads its data).
func waitRedis(addr string, exited <-chan struct{}, timeout time.Duration) error {
	if err := waitTCP(addr, exited, timeout); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		if pong(addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis on %s does not answer PING", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pong(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
