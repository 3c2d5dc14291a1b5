package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresServer is a PostgreSQL cluster owned by the tests: initdb'd in a
// temporary directory, listening on 127.0.0.1 on a free port with its unix
// socket in that directory, fsync off (a test database is thrown away, so
// durability buys nothing but time).
type PostgresServer struct {
	bin  string // directory of initdb and postgres
	dir  string
	port int
	cred *syscall.Credential // the postgres user when we run as root

	process // grace 10 s: a fast shutdown may take a moment
	dbs     atomic.Int64
}

// StartPostgres starts a cluster of the test's own, for tests that stop and
// start PostgreSQL under a running engine. It is removed when the test ends.
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	p, err := startPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		os.RemoveAll(p.dir)
	})
	return p
}

func startPostgres() (*PostgresServer, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	removeStaleClusters()
	// Not t.TempDir(): when we run as root the server runs as the postgres
	// user, who must be able to enter every directory on the path, and a
	// test's temp directory sits inside a root-only (0700) parent.
	dir, err := os.MkdirTemp(clusterParent(), clusterPrefix)
	if err != nil {
		return nil, fmt.Errorf("testenv: postgres dir: %w", err)
	}
	p := &PostgresServer{bin: bin, dir: dir, process: process{grace: 10 * time.Second}}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if err := p.dropPrivileges(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.initdb(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The port is only known free when chosen; retry if something took it.
	if err := onFreePort(func(port int) error { p.port = port; return p.start() }); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// postgresBinDir finds the newest /usr/lib/postgresql/<version>/bin (the
// Debian layout, where initdb is not on PATH), else initdb on PATH.
func postgresBinDir() (string, error) {
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
	return "", fmt.Errorf("testenv: PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): " +
		"install the Debian package \"postgresql\" (apt-get install -y postgresql)")
}

// dropPrivileges arranges for the server to run as the postgres system user
// when we are root: PostgreSQL refuses to run as root.
func (p *PostgresServer) dropPrivileges() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("testenv: running as root, PostgreSQL needs the \"postgres\" system user "+
			"(created by the Debian package \"postgresql\"): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if err := os.Chown(p.dir, uid, gid); err != nil {
		return fmt.Errorf("testenv: chown %s to postgres: %w", p.dir, err)
	}
	return nil
}

func (p *PostgresServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	// Only what the server needs: a PGDATA or PGPORT of the developer's
	// shell must not leak into the test cluster.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + p.dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	return cmd
}

func (p *PostgresServer) dataDir() string { return filepath.Join(p.dir, "data") }
func (p *PostgresServer) logFile() string { return filepath.Join(p.dir, "postgres.log") }

func (p *PostgresServer) initdb() error {
	cmd := p.command("initdb", "-D", p.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: initdb: %w\n%s", err, out)
	}
	return nil
}

// Start starts the server again after Stop, on the same port and data.
func (p *PostgresServer) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
}

func (p *PostgresServer) start() error {
	log, err := os.OpenFile(p.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the server has its own descriptor once started
	err = p.process.start(func() *exec.Cmd {
		cmd := p.command("postgres", "-D", p.dataDir(), "-p", strconv.Itoa(p.port),
			"-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories="+p.dir,
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=300", "-c", "shared_buffers=32MB")
		cmd.Stdout, cmd.Stderr = log, log
		// SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its
		// backends down with it when the test binary dies.
		dieWithParent(cmd, syscall.SIGQUIT)
		return cmd
	}, func(exited <-chan struct{}) error { return p.waitReady(exited, 30*time.Second) },
		func() string { return logTail(p.logFile()) })
	if err != nil {
		return fmt.Errorf("testenv: postgres: %w", err)
	}
	return nil
}

// waitReady waits until the server accepts a query: it listens a moment
// before it has finished recovery and answers "the database system is
// starting up".
func (p *PostgresServer) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited during start-up: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (fast shutdown: clients are disconnected) and
// waits for it to exit. Stopping a stopped server does nothing.
func (p *PostgresServer) Stop() { p.stop(syscall.SIGINT) }

// Addr is host:port of the server.
func (p *PostgresServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

// URL is the connection URL of a database on the server.
func (p *PostgresServer) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", p.Addr(), database)
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// CreateDatabase creates an empty database for the test, dropped (with any
// connections still open to it) when the test ends, and returns its URL.
func (p *PostgresServer) CreateDatabase(t testing.TB) string {
	t.Helper()
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	name = fmt.Sprintf("t%d_%s", p.dbs.Add(1), name)
	if err := p.admin(`CREATE DATABASE ` + pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// The test may have stopped the server; then there is nothing to
		// drop until it runs again, and the cluster goes away whole.
		p.mu.Lock()
		running := p.cmd != nil
		p.mu.Unlock()
		if running {
			if err := p.admin(`DROP DATABASE IF EXISTS ` + pgx.Identifier{name}.Sanitize() + ` WITH (FORCE)`); err != nil {
				t.Errorf("testenv: drop database %s: %v", name, err)
			}
		}
	})
	return p.URL(name)
}

func (p *PostgresServer) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}
