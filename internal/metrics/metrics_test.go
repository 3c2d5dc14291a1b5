package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// clock is the fake time of the latency histogram.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// scrape fetches /metrics over a real HTTP server and parses it with the
// Prometheus text parser, as a Prometheus server would.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the value of the series of name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("series %s missing", name)
	}
next:
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("series %s%v missing", name, want)
	return 0
}

func density(seq uint64, zone string) *event.Event {
	return &event.Event{ID: event.NewID(1_764_270_000_000, seq), Topic: event.TopicDensity, Type: event.TypeDensity,
		Key: zone, StateKey: "zone:" + zone, Data: []byte(`{"type":"density"}`)}
}

func TestScrapeReflectsHubEngineAndStreams(t *testing.T) {
	clk := &clock{t: time.UnixMilli(1_764_270_000_000)}
	h := hub.New(hub.Options{Now: clk.now})
	defer h.Close()
	m := New(Options{Hub: h, Now: clk.now})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	// Two density subscribers and one multiplexed (density + alerts).
	ctx := context.Background()
	var subs []*hub.Subscriber
	for _, ts := range [][]event.Topic{{event.TopicDensity}, {event.TopicDensity}, event.Topics} {
		s, _, err := h.Subscribe(ctx, ts, "c", "")
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	// Three readings of one zone: the first subscriber is not draining, so
	// two of its three are conflated.
	h.Publish(density(1, "a"), density(2, "a"), density(3, "a"))
	var b hub.Batch
	subs[0].Take(&b)
	if len(b.Events) != 1 {
		t.Fatalf("want the conflated queue to hold 1 event, got %d", len(b.Events))
	}
	h.CountDelivered(len(b.Events))
	// A stream wrote the event 30 ms after it was published.
	clk.t = clk.t.Add(30 * time.Millisecond)
	m.OnDelivered(len(b.Events), b.Events[0].At)
	m.OnDelivered(0, time.Time{}) // an empty write is not a delivery

	m.Ingested(3)
	m.Ingested(2)
	m.AlertChanged(crowd.Alert{ID: "x", Level: crowd.Warning, Status: crowd.StatusActive, Kind: crowd.KindDensity})
	m.AlertChanged(crowd.Alert{ID: "x", Level: crowd.Warning, Status: crowd.StatusAcknowledged, Kind: crowd.KindDensity})
	m.AlertChanged(crowd.Alert{ID: "y", Level: crowd.Critical, Status: crowd.StatusActive, Kind: crowd.KindForecast})

	f := scrape(t, srv.URL)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"crowdrisk_streams_open", map[string]string{"topic": "density"}, 3},
		{"crowdrisk_streams_open", map[string]string{"topic": "alerts"}, 1},
		{"crowdrisk_events_published_total", nil, 3},
		{"crowdrisk_events_delivered_total", nil, 1},
		// Each of the three subscribers had 2 of the 3 readings replaced.
		{"crowdrisk_events_conflated_total", nil, 6},
		{"crowdrisk_slow_disconnects_total", nil, 0},
		{"crowdrisk_readings_ingested_total", nil, 5},
		{"crowdrisk_stream_writes_total", nil, 1},
		{"crowdrisk_alert_changes_total", map[string]string{"level": "warning", "status": "active", "kind": "density"}, 1},
		{"crowdrisk_alert_changes_total", map[string]string{"level": "warning", "status": "acknowledged", "kind": "density"}, 1},
		{"crowdrisk_alert_changes_total", map[string]string{"level": "critical", "status": "active", "kind": "forecast"}, 1},
	} {
		if got := value(t, f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	hist := f["crowdrisk_delivery_latency_seconds"].GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() != 1 || hist.GetSampleSum() < 0.029 || hist.GetSampleSum() > 0.031 {
		t.Fatalf("latency histogram: count %d sum %v, want one 30 ms sample", hist.GetSampleCount(), hist.GetSampleSum())
	}
	for _, bk := range hist.GetBucket() {
		in := bk.GetCumulativeCount() == 1
		if want := bk.GetUpperBound() >= 0.03; in != want {
			t.Errorf("bucket le=%v holds %d, want the 30 ms sample in it: %v", bk.GetUpperBound(), bk.GetCumulativeCount(), want)
		}
	}

	// The benchmark reads the server's RSS and CPU time from these.
	if v := value(t, f, "process_resident_memory_bytes", nil); v <= 0 {
		t.Errorf("process_resident_memory_bytes = %v", v)
	}
	value(t, f, "process_cpu_seconds_total", nil)
	if v := value(t, f, "go_goroutines", nil); v <= 0 {
		t.Errorf("go_goroutines = %v", v)
	}

	// Closing a stream is seen at the next scrape.
	h.Unsubscribe(subs[2])
	f = scrape(t, srv.URL)
	if got := value(t, f, "crowdrisk_streams_open", map[string]string{"topic": "alerts"}); got != 0 {
		t.Errorf("alerts streams after unsubscribe = %v", got)
	}
}

func TestTwoInstancesDoNotShareSeries(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	a.Ingested(7)
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()
	f := scrape(t, srv.URL)
	if got := value(t, f, "crowdrisk_readings_ingested_total", nil); got != 0 {
		t.Fatalf("the second registry sees the first one's readings: %v", got)
	}
	if _, ok := f["crowdrisk_streams_open"]; ok {
		t.Fatal("stream series without a hub")
	}
}
