package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// BenchmarkWriteHistorySecond writes one second of history at the fastest
// measured ingest (40,000 readings over 50 zones) as the engine's writer
// does: one transaction. It must take well under a second, or the writer
// falls behind and drops points.
func BenchmarkWriteHistorySecond(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "crowdrisk.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const readings, zones = 40000, 50
	at := int64(1_764_270_000_000)
	for b.Loop() {
		var batch store.HistoryBatch
		for i := range readings {
			p := store.DensityPoint{ZoneID: fmt.Sprintf("zone-%d", i%zones), At: at + int64(i/zones), Density: 1, Smoothed: 1, Sensors: 1}
			batch.Points = append(batch.Points, p)
			if i < zones {
				batch.Minutes = append(batch.Minutes, store.MinuteOf(p))
			}
		}
		at += 1000
		if err := s.WriteHistory(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}
