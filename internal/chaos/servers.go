package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// The campaign starts its own Redis and PostgreSQL rather than reusing
// internal/testenv: that package is built around testing.TB (t.Fatal,
// t.Cleanup), and the campaign also runs from the crowdrisk binary, outside
// any test. The logic is the same: real servers, loopback, free ports.

// server is a restartable child process on a fixed port.
type server struct {
	name   string
	port   int
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	newCmd func() *exec.Cmd
	ready  func(exited <-chan struct{}) error
	stopSg syscall.Signal
}

func (s *server) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := s.newCmd()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Killed with us if the campaign dies; its own process group so that a
	// ^C reaches it only through our cleanup, in our order.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	if err := s.ready(exited); err != nil {
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s: %w", s.name, err)
	}
	s.cmd, s.exited = cmd, exited
	return nil
}

// stop ends the server with its orderly signal and waits for it.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(s.stopSg)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd, s.exited = nil, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRedis runs redis-server with AOF on (as docs/deployment.md asks of
// production), so a restart is an outage, not a data loss.
func startRedis(dir string) (*server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not on PATH: apt-get install -y redis-server")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "redis.conf")
	lines := []string{"bind 127.0.0.1", fmt.Sprintf("port %d", port), "dir " + dir,
		"logfile " + filepath.Join(dir, "redis.log"), "daemonize no", `save ""`,
		"appendonly yes", "appendfsync always", "protected-mode yes"}
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	s := &server{name: "redis", port: port, stopSg: syscall.SIGTERM,
		newCmd: func() *exec.Cmd { return exec.Command(bin, conf) }}
	s.ready = func(exited <-chan struct{}) error {
		return waitUntil(exited, 15*time.Second, func() bool { return redisPong(s.addr()) })
	}
	return s, s.start()
}

func redisPong(addr string) bool {
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

// waitUntil polls ok until it holds, the process exits or the time is up.
func waitUntil(exited <-chan struct{}, within time.Duration, ok func() bool) error {
	deadline := time.Now().Add(within)
	for !ok() {
		select {
		case <-exited:
			return fmt.Errorf("exited during start-up")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// pgServer is a PostgreSQL cluster initdb'd in its own directory. Its stop
// signal is SIGINT, PostgreSQL's fast shutdown (what pg_ctl stop -m fast
// sends): clients are disconnected, open transactions rolled back.
type pgServer struct {
	*server
	dir string
}

func (p *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", p.addr(), db)
}

func startPostgres() (*pgServer, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	// Under /tmp, not under a root-only directory: as root the server runs
	// as the postgres user, who must be able to enter every parent.
	dir, err := os.MkdirTemp("/tmp", "crowdrisk-chaos-pg-")
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + dir}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return cmd
	}
	data := filepath.Join(dir, "data")
	if out, err := command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	p := &pgServer{dir: dir}
	p.server = &server{name: "postgres", port: port, stopSg: syscall.SIGINT}
	p.newCmd = func() *exec.Cmd {
		cmd := command("postgres", "-D", data, "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=200", "-c", "shared_buffers=32MB",
			// The checker orders the event log by commit time.
			"-c", "track_commit_timestamp=on")
		if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			cmd.Stdout, cmd.Stderr = f, f
		}
		return cmd
	}
	p.ready = func(exited <-chan struct{}) error {
		return waitUntil(exited, 30*time.Second, func() bool { return pgPing(p.url("postgres")) })
	}
	if err := p.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.url("postgres"))
	if err == nil {
		_, err = c.Exec(ctx, "CREATE DATABASE crowdrisk")
		c.Close(ctx)
	}
	if err != nil {
		p.stop()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create database: %w", err)
	}
	return p, nil
}

func pgPing(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return false
	}
	defer c.Close(ctx)
	return c.Ping(ctx) == nil
}

// pgBinDir finds the newest /usr/lib/postgresql/<version>/bin (Debian),
// else initdb on PATH.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL not found: apt-get install -y postgresql")
}
