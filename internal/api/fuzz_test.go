package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeReadings: the readings decoder never panics, and whatever it
// accepts survives a round trip unchanged. The seed corpus is
// in testdata/fuzz/FuzzDecodeReadings; run longer with
// go test -fuzz=FuzzDecodeReadings -fuzztime=30s ./internal/api
func FuzzDecodeReadings(f *testing.F) {
	for _, s := range []string{
		`{"zoneId":"north-stand","density":2.4,"timestamp":1764270000000}`,
		`[{"zoneId":"gate-a","count":310},{"zoneId":"gate-a","density":0}]`,
		`{"zoneId":"gate-a","density":1e999}`,
		`{"zoneId":"gate-a","sensorId":"door-1","in":12,"out":3,"timestamp":1764270000000}`,
		`[{"zoneId":"gate-a","sensorId":"door-2","out":4,"timestamp":1764270000500},{"zoneId":"gate-a","sensorId":"door-1","in":1.5}]`,
		`[]`, `null`, ``, `[{}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeReadings(bytes.NewReader(body))
		if err != nil {
			if got != nil {
				t.Fatalf("readings returned with an error: %v", err)
			}
			return
		}
		if len(got) == 0 || len(got) > MaxBatch {
			t.Fatalf("accepted %d readings", len(got))
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeReadings(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("re-encoded batch refused: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(got, back) {
			t.Fatalf("round trip changed the batch:\n%+v\n%+v", got, back)
		}
	})
}
