package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Report is what one run measured. Pointers are nil when the value could
// not be measured (an engine without /metrics has no RSS or CPU time).
type Report struct {
	URL         string `json:"url"`
	Mode        Mode   `json:"mode"`
	Subscribers int    `json:"subscribers"`
	Topics      string `json:"topics"`

	FileLimit         uint64         `json:"fileLimit"`
	ConnectionsMade   int            `json:"connectionsMade"`
	ConnectionsFailed int            `json:"connectionsFailed"`
	ConnectionsLost   int64          `json:"connectionsLost"` // ended by the server during the run
	Failures          map[string]int `json:"failures,omitempty"`
	ConnectSeconds    float64        `json:"connectSeconds"`
	ServerStreamsOpen *float64       `json:"serverStreamsOpen,omitempty"` // crowdrisk_streams_open{topic="density"} when idle

	RSSBeforeBytes   *float64 `json:"rssBeforeBytes,omitempty"`
	RSSIdleBytes     *float64 `json:"rssIdleBytes,omitempty"`
	KiBPerConnection *float64 `json:"kibPerConnection,omitempty"`

	// Load phase.
	LoadSeconds      float64 `json:"loadSeconds"`
	ReadingsSent     int64   `json:"readingsSent"`
	ReadingsAccepted int64   `json:"readingsAccepted"`
	ReadingsRefused  int64   `json:"readingsRefused"`
	SendRate         float64 `json:"sendRate"` // accepted readings per second

	Expected         int64   `json:"expectedDeliveries"` // accepted × streams
	Received         int64   `json:"receivedDeliveries"`
	ShareDelivered   float64 `json:"shareDelivered"`
	DeliveriesPerSec float64 `json:"deliveriesPerSecond"`
	Latency          Latency `json:"latency"` // send → arrival, every delivery

	// RequestLatency is a POST's round trip in ingest mode with --sensors.
	RequestLatency *Latency `json:"requestLatency,omitempty"`

	// Broadcast mode: per broadcast, the time until the last stream had it.
	BroadcastComplete *Latency `json:"broadcastComplete,omitempty"`

	ServerCPUSeconds     *float64 `json:"serverCpuSeconds,omitempty"`
	CPUSecondsPerMillion *float64 `json:"cpuSecondsPerMillionDeliveries,omitempty"`
	// BenchCPUSeconds is the load generator's own CPU time in the load phase.
	BenchCPUSeconds float64 `json:"benchCpuSeconds"`

	Notes []string `json:"notes,omitempty"`
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// WriteTable prints the report for a person.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	opt := func(v *float64, format string) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf(format, *v)
	}
	row("engine", "%s (%s mode)", r.URL, r.Mode)
	row("streams", "%d made, %d failed, %d lost (of %d; topics %s; open-file limit %d)",
		r.ConnectionsMade, r.ConnectionsFailed, r.ConnectionsLost, r.Subscribers, r.Topics, r.FileLimit)
	if r.Subscribers > 0 {
		row("connect time", "%.2f s", r.ConnectSeconds)
		row("server streams open", "%s", opt(r.ServerStreamsOpen, "%.0f"))
		row("memory per idle stream", "%s KiB (RSS %s → %s MiB)", opt(r.KiBPerConnection, "%.1f"),
			opt(mib(r.RSSBeforeBytes), "%.1f"), opt(mib(r.RSSIdleBytes), "%.1f"))
	}
	row("readings", "%d sent, %d accepted, %d refused in %.1f s (%.0f/s)",
		r.ReadingsSent, r.ReadingsAccepted, r.ReadingsRefused, r.LoadSeconds, r.SendRate)
	if r.Mode != ModeIngest || r.ConnectionsMade > 0 {
		rate := "" // a broadcast run measures completion, not throughput
		if r.DeliveriesPerSec > 0 {
			rate = fmt.Sprintf(", %.0f/s", r.DeliveriesPerSec)
		}
		row("deliveries", "%d of %d (%.2f %%)%s", r.Received, r.Expected, 100*r.ShareDelivered, rate)
		row("latency send→arrival", "p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms (%d samples)",
			r.Latency.P50, r.Latency.P99, r.Latency.P999, r.Latency.Max, r.Latency.Samples)
	}
	if q := r.RequestLatency; q != nil {
		row("request round trip", "p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms (%d requests)", q.P50, q.P99, q.P999, q.Max, q.Samples)
	}
	if b := r.BroadcastComplete; b != nil {
		row("broadcast complete", "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d broadcasts)", b.P50, b.P99, b.Max, b.Samples)
	}
	row("server CPU", "%s s, %s s per million deliveries", opt(r.ServerCPUSeconds, "%.2f"), opt(r.CPUSecondsPerMillion, "%.2f"))
	row("bench CPU", "%.2f s in the load phase", r.BenchCPUSeconds)
	if len(r.Failures) > 0 {
		keys := make([]string, 0, len(r.Failures))
		for k := range r.Failures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row("failure", "%d× %s", r.Failures[k], k)
		}
	}
	for _, n := range r.Notes {
		row("note", "%s", strings.TrimSpace(n))
	}
	return tw.Flush()
}

func mib(v *float64) *float64 {
	if v == nil {
		return nil
	}
	m := *v / (1 << 20)
	return &m
}

func ptr(v float64) *float64 { return &v }
