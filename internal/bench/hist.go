package bench

import (
	"math"
	"sync/atomic"
	"time"
)

// histogram counts latencies in buckets about 1 % wide (10 µs wide below
// 1 ms), from 0 to over a minute, with atomic adds: thousands of stream
// readers record into one histogram without a lock, and quantiles are read
// at the end with an error well under the noise of this machine.
type histogram struct {
	counts [histBuckets]atomic.Int64
	max    atomic.Int64 // ns
}

const (
	linearBuckets = 100  // 0..1 ms in 10 µs steps
	logBuckets    = 1200 // 1 ms .. ~2.5 min in 1 % steps
	histBuckets   = linearBuckets + logBuckets
	logStep       = 1.01
	linearWidthNs = int64(10 * time.Microsecond)
)

var logStepLn = math.Log(logStep)

func bucketOf(ns int64) int {
	if ns < 0 {
		ns = 0
	}
	if ns < linearBuckets*linearWidthNs {
		return int(ns / linearWidthNs)
	}
	i := linearBuckets + int(math.Log(float64(ns)/float64(time.Millisecond))/logStepLn)
	return min(i, histBuckets-1)
}

// upper is the upper bound of bucket i in ns.
func upper(i int) float64 {
	if i < linearBuckets {
		return float64(int64(i+1) * linearWidthNs)
	}
	return float64(time.Millisecond) * math.Pow(logStep, float64(i-linearBuckets+1))
}

func (h *histogram) record(d time.Duration) {
	ns := int64(d)
	h.counts[bucketOf(ns)].Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

func (h *histogram) count() int64 {
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// quantile is the upper bound of the bucket holding quantile q (0..1),
// capped by the largest value seen.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			if i == histBuckets-1 {
				break // the overflow bucket has no upper bound
			}
			return min(time.Duration(upper(i)), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Latency summarises a histogram in milliseconds.
type Latency struct {
	Samples int64   `json:"samples"`
	P50     float64 `json:"p50Ms"`
	P99     float64 `json:"p99Ms"`
	P999    float64 `json:"p999Ms"`
	Max     float64 `json:"maxMs"`
}

func (h *histogram) summary() Latency {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		Samples: h.count(),
		P50:     ms(h.quantile(0.50)),
		P99:     ms(h.quantile(0.99)),
		P999:    ms(h.quantile(0.999)),
		Max:     ms(time.Duration(h.max.Load())),
	}
}
