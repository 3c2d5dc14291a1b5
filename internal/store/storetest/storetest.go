// Package storetest is the conformance suite every store.Store backend
// passes: the behaviour the engine relies on, written once and run against
// real SQLite files and a real PostgreSQL database.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Opener opens the backend under test.
//
// The first call within a test t returns a store on a fresh, empty
// database; every later call within the same t returns a new store on that
// same database (the reopen after a restart). The suite closes every store
// it opens, so open need not; Close must tolerate a second call.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"EmptyStore", testEmptyStore},
		{"AlertRoundTrip", testAlertRoundTrip},
		{"AlertUpsert", testAlertUpsert},
		{"AlertNotFound", testAlertNotFound},
		{"AlertFilters", testAlertFilters},
		{"AtomicCommit", testAtomicCommit},
		{"RejectsInvalid", testRejectsInvalid},
		{"DomainFieldsCovered", testDomainFieldsCovered},
		{"Emergency", testEmergency},
		{"EventsAfter", testEventsAfter},
		{"PruneByCount", testPruneByCount},
		{"PruneByAge", testPruneByAge},
		{"ThroughAndLost", testThroughAndLost},
		{"Incidents", testIncidents},
		{"Concurrency", testConcurrency},
		{"SurvivesReopen", testSurvivesReopen},
		{"Fence", testFence},
		{"Command", testCommand},
		{"Sensors", testSensors},
		{"Counters", testCounters},
		{"HistoryPoints", testHistoryPoints},
		{"HistoryMinutes", testHistoryMinutes},
		{"LatestReadings", testLatestReadings},
		{"PruneHistory", testPruneHistory},
		{"RejectsInvalidHistory", testRejectsInvalidHistory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// openStore opens a store and closes it when the test ends.
func openStore(t *testing.T, open Opener) store.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// ctx bounds every call of a test, so a deadlock fails instead of hanging.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func commit(t *testing.T, s store.Store, b store.Batch) {
	t.Helper()
	if err := s.Commit(ctx(t), b); err != nil {
		t.Fatalf("commit: %v", err)
	}
}
