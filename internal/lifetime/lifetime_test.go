package lifetime

import (
	"context"
	"sync"
	"testing"
	"time"
)

// ends records what a placed connection was told.
type ends struct {
	mu  sync.Mutex
	got []Ending
	ch  chan struct{}
}

func newEnds() *ends { return &ends{ch: make(chan struct{}, 10)} }

func (e *ends) stop(why Ending) {
	e.mu.Lock()
	e.got = append(e.got, why)
	e.mu.Unlock()
	e.ch <- struct{}{}
}

func (e *ends) wait(t *testing.T) Ending {
	t.Helper()
	select {
	case <-e.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not ended")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got[len(e.got)-1]
}

func TestExpiryEndsTheConnectionForReauth(t *testing.T) {
	tr := NewTracker(nil)
	c := tr.Watch("", time.Now().Add(30*time.Millisecond))
	defer c.Release()
	e := newEnds()
	c.Place(e.stop)
	if why := e.wait(t); why != Expired || !why.Reauth || why.Why() != "token expired" {
		t.Fatalf("ended with %+v, want the expiry", why)
	}
}

// An end that comes before the connection is placed (a sign-out between
// the subscription and the first write) is delivered when it is placed.
func TestEndBeforePlaceWaitsForIt(t *testing.T) {
	tr := NewTracker(nil)
	c := tr.Watch("s1", time.Time{})
	defer c.Release()
	if !c.End(SignedOut) {
		t.Fatal("End on an open connection reported it closed")
	}
	e := newEnds()
	c.Place(e.stop)
	if why := e.wait(t); why != SignedOut {
		t.Fatalf("ended with %+v, want the sign-out", why)
	}
}

func TestEndSessionEndsOnlyThatSessionsOpenConnections(t *testing.T) {
	tr := NewTracker(nil)
	a1, a2, b := tr.Watch("a", time.Time{}), tr.Watch("a", time.Time{}), tr.Watch("b", time.Time{})
	ea1, ea2, eb := newEnds(), newEnds(), newEnds()
	a1.Place(ea1.stop)
	a2.Place(ea2.stop)
	b.Place(eb.stop)
	a2.Release() // ended already: not counted, not told
	if n := tr.EndSession("a"); n != 1 {
		t.Fatalf("EndSession(a) ended %d, want 1", n)
	}
	if why := ea1.wait(t); why != SignedOut {
		t.Fatalf("a1 ended with %+v", why)
	}
	select {
	case <-ea2.ch:
		t.Fatal("a released connection was told to end")
	case <-eb.ch:
		t.Fatal("another session's connection was ended")
	case <-time.After(50 * time.Millisecond):
	}
	a1.Release()
	if n := tr.EndSession("a"); n != 0 {
		t.Fatalf("EndSession(a) after its connections were released: %d", n)
	}
	if c := tr.sessions["a"]; c != nil {
		t.Fatalf("session a still registered: %v", c)
	}
	b.Release()
}

func TestReleaseStopsTheExpiryAndLaterEnds(t *testing.T) {
	tr := NewTracker(nil)
	c := tr.Watch("s", time.Now().Add(20*time.Millisecond))
	e := newEnds()
	c.Place(e.stop)
	c.Release()
	if c.End(Ending{}) {
		t.Fatal("End after Release reported the connection open")
	}
	select {
	case why := <-e.ch:
		t.Fatalf("a released connection was ended (%v)", why)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestCloseRefusesNewConnectionsAndWaitsForTheAdmitted(t *testing.T) {
	tr := NewTracker(nil)
	if !tr.Enter() {
		t.Fatal("an open tracker refused a connection")
	}
	if !tr.Close() || tr.Close() {
		t.Fatal("Close: want true the first time only")
	}
	select {
	case <-tr.Closing():
	default:
		t.Fatal("Closing is not closed after Close")
	}
	if tr.Enter() {
		t.Fatal("a closed tracker admitted a connection")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tr.Wait(ctx); err == nil {
		t.Fatal("Wait returned while a connection was still in")
	}
	tr.Leave()
	if err := tr.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if (Ending{}).Why() != "server shutting down" {
		t.Fatalf("the zero Ending says %q", (Ending{}).Why())
	}
}
