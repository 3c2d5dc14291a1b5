package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testConcurrency commits from several goroutines while others read, as the
// engine, the API and the stream replays do. Under -race it also checks the
// backend's own synchronisation. Every commit must land, none may fail with
// a lock error, and readers must never see half a batch.
func testConcurrency(t *testing.T, open Opener) {
	s := openStore(t, open)
	const writers, perWriter, readers = 4, 25, 4
	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
		errs = make(chan error, writers*perWriter+readers)
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				n := w*perWriter + i
				a := alert(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("zone-%d", w), crowd.StatusActive, base+int64(n))
				// Each batch holds one alert, its event and its incident:
				// a reader that sees the event must see the alert.
				b := store.Batch{
					Alerts:    []crowd.Alert{a},
					Events:    []store.StoredEvent{storedEvent(event.NewID(base+int64(n), uint64(w)), a.ID)},
					Incidents: []crowd.Incident{incident(base+int64(n), crowd.IncidentAlert, a.ZoneID, a.ID)},
				}
				if err := s.Commit(ctx(t), b); err != nil {
					errs <- fmt.Errorf("writer %d commit %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	var rg sync.WaitGroup
	for range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				evs, _, err := s.EventsAfter(ctx(t), 0, 0, 0)
				if err != nil {
					errs <- fmt.Errorf("reader: events: %w", err)
					return
				}
				// Alerts were committed with or before their events.
				as, err := s.Alerts(ctx(t), store.AlertFilter{Limit: 1000})
				if err != nil {
					errs <- fmt.Errorf("reader: alerts: %w", err)
					return
				}
				if len(as) < len(evs) {
					errs <- fmt.Errorf("reader saw %d events but only %d alerts: half a batch", len(evs), len(as))
					return
				}
				if _, err := s.LastEventID(ctx(t)); err != nil {
					errs <- fmt.Errorf("reader: last id: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := writers * perWriter
	as, err := s.Alerts(ctx(t), store.AlertFilter{})
	if err != nil || len(as) != total {
		t.Fatalf("alerts after concurrent commits: %d, %v; want %d", len(as), err, total)
	}
	evs, _, err := s.EventsAfter(ctx(t), 0, 0, 0)
	if err != nil || len(evs) != total {
		t.Fatalf("events after concurrent commits: %d, %v; want %d", len(evs), err, total)
	}
	ins, err := s.Incidents(ctx(t), store.IncidentFilter{})
	if err != nil || len(ins) != total {
		t.Fatalf("incidents after concurrent commits: %d, %v; want %d", len(ins), err, total)
	}
}
