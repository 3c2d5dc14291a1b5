package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// loader runs the load phase of one mode.
type loader struct {
	cfg     Config
	api     *client
	post    *client // where readings go: api, or another instance (--post-url)
	zones   []string
	table   *sentTable
	streams *streams
	rep     *Report
	say     func(string, ...any)

	lastTS      map[string]int64   // per zone, so timestamps strictly increase
	lastDensity map[string]float64 // per zone, so every reading is news
	next        int                // round-robin position over the zones
}

// nextReading picks the next zone and a timestamp later than that zone's
// last: the engine refuses a reading older than the zone's latest, and the
// side table needs (zone, timestamp) to be unique.
//
// The density differs from the zone's last one on the wire (3 decimals):
// the engine publishes only readings whose judgement changed, and an equal
// one would count as undelivered to every stream.
func (l *loader) nextReading(density float64) reading {
	if l.lastTS == nil {
		l.lastTS, l.lastDensity = map[string]int64{}, map[string]float64{}
	}
	z := l.zones[l.next%len(l.zones)]
	l.next++
	ts := max(time.Now().UnixMilli(), l.lastTS[z]+1)
	l.lastTS[z] = ts
	density = math.Round(density*1000) / 1000
	if density == l.lastDensity[z] {
		density += 0.001
	}
	l.lastDensity[z] = density
	return reading{zone: z, density: density, ts: ts}
}

// normalDensity stays under every default threshold, so a stream run
// measures fan-out, not alert commits.
func normalDensity() float64 { return 0.3 + 0.6*rand.Float64() }

// send posts one batch, tracked in the side table.
func (l *loader) send(ctx context.Context, rs []reading, body []byte) ([]*sentReading, error) {
	entries := l.table.add(rs)
	l.rep.ReadingsSent += int64(len(rs))
	n, err := l.post.postReadings(ctx, appendReadings(body[:0], rs))
	if err != nil {
		l.table.remove(rs)
		l.rep.ReadingsRefused += int64(len(rs))
		l.streams.fail(err)
		return nil, err
	}
	l.rep.ReadingsAccepted += int64(n)
	return entries, nil
}

// stream posts readings at cfg.Rate for cfg.Duration, in one batch per
// tick, then waits for the deliveries to drain.
func (l *loader) stream(ctx context.Context) error {
	l.say("posting %.0f readings/s over %d zones for %s", l.cfg.Rate, len(l.zones), l.cfg.Duration)
	tick := time.NewTicker(l.cfg.Tick)
	defer tick.Stop()
	start := l.table.now()
	begin := time.Now()
	end := begin.Add(l.cfg.Duration)
	var (
		sent  int64
		batch []reading
		body  []byte
	)
	for now := begin; now.Before(end); now = time.Now() {
		due := int64(l.cfg.Rate*now.Sub(begin).Seconds()) - sent
		if due > 0 {
			batch = batch[:0]
			for range due {
				batch = append(batch, l.nextReading(normalDensity()))
			}
			sent += due
			if _, err := l.send(ctx, batch, body); err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	sendEnd := l.table.now()
	l.say("sent %d readings; waiting for deliveries", l.rep.ReadingsSent)
	l.drain(ctx)
	// The window runs from the first send to the last arrival (or the end of
	// sending, if everything arrived before it): a server that falls behind
	// is charged for the time it takes to catch up.
	window := max(l.streams.lastArrival.Load(), sendEnd) - start
	l.rep.LoadSeconds = float64(sendEnd-start) / 1e9
	if window > 0 {
		l.rep.DeliveriesPerSec = float64(l.streams.received.Load()) / (float64(window) / 1e9)
	}
	return nil
}

// drain waits until every expected delivery arrived, arrivals stopped for
// two seconds, or cfg.Drain passed.
func (l *loader) drain(ctx context.Context) {
	want := l.rep.ReadingsAccepted * int64(l.rep.ConnectionsMade)
	deadline := time.Now().Add(l.cfg.Drain)
	last, lastChange := l.streams.received.Load(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got := l.streams.received.Load()
		if got >= want {
			return
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 2*time.Second {
			return
		}
		_ = sleep(ctx, 50*time.Millisecond)
	}
}

// broadcast sends one reading at a time and waits until every stream has
// it (or cfg.BroadcastTimeout), cfg.Repeat times.
func (l *loader) broadcast(ctx context.Context) error {
	l.say("broadcasting %d readings, one at a time, to %d streams", l.cfg.Repeat, l.rep.ConnectionsMade)
	complete := &histogram{}
	begin := time.Now()
	var body []byte
	for k := 0; k < l.cfg.Repeat; k++ {
		r := []reading{l.nextReading(normalDensity())}
		entries, err := l.send(ctx, r, body)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		e := entries[0]
		want := int64(l.rep.ConnectionsMade)
		deadline := time.Now().Add(l.cfg.BroadcastTimeout)
		for e.got.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		if got := e.got.Load(); got < want {
			l.rep.note("broadcast %d reached %d of %d streams within %s", k+1, got, want, l.cfg.BroadcastTimeout)
		} else {
			complete.record(time.Duration(l.streams.lastArrival.Load() - e.at))
		}
		// A pause so that broadcasts do not overlap and each is measured
		// on an idle server.
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			return err
		}
	}
	l.rep.LoadSeconds = time.Since(begin).Seconds()
	s := complete.summary()
	l.rep.BroadcastComplete = &s
	return nil
}

// ingest posts batches of cfg.Batch readings from cfg.Workers workers as
// fast as the engine takes them, for cfg.Duration. Densities sweep from
// normal to emergency and back (an 8-second wave per zone), so alerts,
// their commits to the store and emergency mode are part of the load.
func (l *loader) ingest(ctx context.Context) error {
	workers := min(l.cfg.Workers, len(l.zones))
	l.say("posting batches of %d readings from %d workers for %s", l.cfg.Batch, workers, l.cfg.Duration)
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Duration)
	defer cancel()
	var (
		accepted, refused, sent atomic.Int64
		wg                      sync.WaitGroup
	)
	begin := time.Now()
	for w := range workers {
		var mine []string
		for i := w; i < len(l.zones); i += workers {
			mine = append(mine, l.zones[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := map[string]int64{}
			batch := make([]reading, l.cfg.Batch)
			var body []byte
			for ctx.Err() == nil {
				now := time.Now()
				for i := range batch {
					z := mine[i%len(mine)]
					ts := max(now.UnixMilli(), last[z])
					last[z] = ts
					phase := float64(i%len(mine)) / float64(len(mine))
					d := 3.5 + 3*math.Sin(2*math.Pi*(now.Sub(begin).Seconds()/8+phase))
					batch[i] = reading{zone: z, density: d, ts: ts}
				}
				body = appendReadings(body[:0], batch)
				sent.Add(int64(len(batch)))
				n, err := l.post.postReadings(ctx, body)
				if err != nil {
					if ctx.Err() == nil {
						refused.Add(int64(len(batch)))
						l.streams.fail(err)
					}
					continue
				}
				accepted.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	l.rep.LoadSeconds = time.Since(begin).Seconds()
	l.rep.ReadingsSent = sent.Load()
	l.rep.ReadingsAccepted = accepted.Load()
	l.rep.ReadingsRefused = refused.Load()
	// A batch cut off by the end of the run was neither accepted nor refused.
	return nil
}
