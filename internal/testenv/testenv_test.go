package testenv_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestFreePort(t *testing.T) {
	port := testenv.FreePort(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("FreePort gave %d, which cannot be bound: %v", port, err)
	}
	l.Close()
}

// redisDo sends one inline command and returns the first reply line.
func redisDo(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "$-1") {
		line, err = r.ReadString('\n')
	}
	return strings.TrimRight(line, "\r\n"), err
}

func TestRedisRestartsOnItsPort(t *testing.T) {
	r := testenv.Redis(t)
	if !strings.HasPrefix(r.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL %q is not a loopback redis URL", r.URL())
	}
	if got, err := redisDo(r.Addr(), "SET k v"); err != nil || got != "+OK" {
		t.Fatalf("SET: %q, %v", got, err)
	}
	r.Stop()
	if _, err := redisDo(r.Addr(), "PING"); err == nil {
		t.Fatal("redis still answers after Stop")
	}
	r.Start()
	if got, err := redisDo(r.Addr(), "PING"); err != nil || got != "+PONG" {
		t.Fatalf("PING after restart: %q, %v", got, err)
	}
	// No persistence by default: the key is gone after the restart.
	if got, _ := redisDo(r.Addr(), "GET k"); got != "$-1" {
		t.Fatalf("GET after restart without persistence = %q; want nil", got)
	}
}

func TestRedisPersistence(t *testing.T) {
	r := testenv.Redis(t, testenv.WithPersistence())
	if got, err := redisDo(r.Addr(), "SET k v"); err != nil || got != "+OK" {
		t.Fatalf("SET: %q, %v", got, err)
	}
	r.Kill()
	r.Start()
	if got, err := redisDo(r.Addr(), "GET k"); err != nil || got != "v" {
		t.Fatalf("GET after a crash with persistence = %q, %v; want v", got, err)
	}
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestPostgresDatabasesAreSeparate(t *testing.T) {
	a, b := testenv.Postgres(t), testenv.Postgres(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	if !strings.Contains(a, "@127.0.0.1:") {
		t.Fatalf("URL %q is not on loopback", a)
	}
	exec(t, a, "CREATE TABLE only_in_a (x int)")
	if got := query(t, b, "SELECT COUNT(*)::text FROM pg_tables WHERE tablename = 'only_in_a'"); got != "0" {
		t.Fatalf("a table of database a is visible in database b")
	}
	if got := query(t, a, "SHOW fsync"); got != "off" {
		t.Fatalf("fsync = %s; want off for speed", got)
	}
}

func TestPostgresStopStart(t *testing.T) {
	p := testenv.StartPostgres(t)
	url := p.CreateDatabase(t)
	exec(t, url, "CREATE TABLE kept (x int)")
	p.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, url); err == nil {
		c.Close(ctx)
		t.Fatal("connected after Stop")
	}
	p.Start(t)
	if got := query(t, url, "SELECT COUNT(*)::text FROM pg_tables WHERE tablename = 'kept'"); got != "1" {
		t.Fatal("table lost across a restart")
	}
}
