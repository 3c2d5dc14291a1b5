package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// A restart of PostgreSQL under an open store: calls during the outage
// fail, and the first calls after it succeed, although every connection the
// pool held died with the old server.
func TestSurvivesServerRestart(t *testing.T) {
	srv := testenv.StartPostgres(t)
	s := openTest(t, srv.CreateDatabase(t), pingAfterIdle)
	ctx := testCtx(t)
	if err := s.Commit(ctx, incident("before")); err != nil {
		t.Fatalf("commit: %v", err)
	}
	fillPool(t, s)
	srv.Stop()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("ping succeeded with the server stopped")
	}
	if err := s.Commit(ctx, incident("during")); err == nil {
		t.Fatal("commit succeeded with the server stopped")
	}
	var down *store.UnavailableError
	if _, err := s.Alerts(ctx, store.AlertFilter{}); !errors.As(err, &down) {
		t.Fatalf("a read with the server stopped: %v, want a store.UnavailableError (503, not 500)", err)
	}
	srv.Start(t)
	if err := s.Commit(ctx, incident("after")); err != nil {
		t.Fatalf("first commit after restart: %v", err)
	}
	ins, err := s.Incidents(ctx, store.IncidentFilter{})
	if err != nil || len(ins) != 2 || ins[0].Message != "before" || ins[1].Message != "after" {
		t.Fatalf("incidents after restart = %+v, %v; want before and after", ins, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}

// Pool settings in the URL win over the store's own.
func TestPoolConfig(t *testing.T) {
	cfg, err := poolConfig("postgres://u@127.0.0.1:1/db?pool_max_conns=2&pool_health_check_period=5s", pingAfterIdle)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 2 || cfg.HealthCheckPeriod != 5*time.Second {
		t.Errorf("from the URL: MaxConns %d, HealthCheckPeriod %s; want 2, 5s", cfg.MaxConns, cfg.HealthCheckPeriod)
	}
	if cfg.MaxConnIdleTime != maxConnIdleTime || cfg.PingTimeout != pingTimeout {
		t.Errorf("defaults: MaxConnIdleTime %s, PingTimeout %s; want %s, %s", cfg.MaxConnIdleTime, cfg.PingTimeout, maxConnIdleTime, pingTimeout)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["pool_max_conns"]; ok {
		t.Error("pool_max_conns would be sent to the server as a setting")
	}
	cfg, err = poolConfig("postgres://u@127.0.0.1:1/db", pingAfterIdle)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns < minMaxConns || cfg.HealthCheckPeriod != healthCheckPeriod {
		t.Errorf("defaults: MaxConns %d, HealthCheckPeriod %s; want >= %d, %s", cfg.MaxConns, cfg.HealthCheckPeriod, minMaxConns, healthCheckPeriod)
	}
}

// Calls after Close fail instead of opening new connections.
func TestClosed(t *testing.T) {
	s := openTest(t, testenv.Postgres(t), pingAfterIdle)
	s.Close()
	if err := s.Ping(testCtx(t)); err == nil {
		t.Fatal("ping after close succeeded")
	}
}
