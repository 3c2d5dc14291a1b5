package replay

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

func reading(zone string, ts int64, d float64) crowd.ReadingInput {
	return crowd.ReadingInput{ZoneID: zone, Timestamp: &ts, Density: &d}
}

// recorder is a sink and a fake sleep that log what happened in order.
type recorder struct{ log []string }

func (r *recorder) sink(_ context.Context, b []crowd.ReadingInput) error {
	s := "send"
	for _, x := range b {
		s += " " + x.ZoneID
	}
	r.log = append(r.log, s)
	return nil
}

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.log = append(r.log, "sleep "+d.String())
	return nil
}

func TestFeedBatchesAndPaces(t *testing.T) {
	in := []crowd.ReadingInput{
		reading("b", 3000, 1), // out of order on purpose
		reading("a", 1000, 1),
		reading("c", 1000, 1),
		reading("a", 2000, 1),
		reading("a", 3000, 1),
	}
	for _, tt := range []struct {
		speed float64
		want  []string
	}{
		{1, []string{"send a c", "sleep 1s", "send a", "sleep 1s", "send b a"}},
		{4, []string{"send a c", "sleep 250ms", "send a", "sleep 250ms", "send b a"}},
		{0, []string{"send a c", "send a", "send b a"}},
	} {
		var r recorder
		if err := Feed(context.Background(), in, tt.speed, r.sink, r.sleep); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.log, tt.want) {
			t.Errorf("speed %v: %q, want %q", tt.speed, r.log, tt.want)
		}
	}
	if *in[0].Timestamp != 3000 {
		t.Error("Feed reordered the caller's slice")
	}
}

func TestFeedStops(t *testing.T) {
	in := []crowd.ReadingInput{reading("a", 1000, 1), reading("a", 2000, 1), reading("a", 3000, 1)}
	boom := errors.New("refused")
	sent := 0
	err := Feed(context.Background(), in, 0, func(context.Context, []crowd.ReadingInput) error {
		sent++
		if sent == 2 {
			return boom
		}
		return nil
	}, nil)
	if !errors.Is(err, boom) || sent != 2 {
		t.Fatalf("err %v after %d batches, want the sink's error after 2", err, sent)
	}

	// A cancelled context stops a real sleep at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err = Feed(ctx, in, 0.001, func(context.Context, []crowd.ReadingInput) error { return nil }, Sleep)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %v, want a prompt context.Canceled", err, time.Since(start))
	}

	var ce *crowd.Error
	noTS := []crowd.ReadingInput{reading("a", 1, 1), {ZoneID: "b"}}
	if err := Feed(context.Background(), noTS, 1, nil, nil); !errors.As(err, &ce) || ce.Field != "readings[1].timestamp" {
		t.Fatalf("missing timestamp: %v", err)
	}
	if err := Feed(context.Background(), in, -1, nil, nil); !errors.As(err, &ce) || ce.Field != "speed" {
		t.Fatalf("negative speed: %v", err)
	}
}
