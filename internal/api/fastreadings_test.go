package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
	"unsafe"
)

// fastSeeds are bodies of every shape: what sensors send, and what the
// fast path must leave to the strict decoder.
var fastSeeds = []string{
	`{"zoneId":"north-stand","density":2.4,"timestamp":1764270000000}`,
	` {"zoneId" : "north-stand" ,"sensorId":"cam-1", "density": 0 } `,
	`[{"zoneId":"gate-a","count":310},{"zoneId":"gate-a","density":-0}]`,
	`{"zoneId":"gate-a","sensorId":"door-1","in":12,"out":3,"timestamp":1764270000000}`,
	`{"zoneId":"gate-a","inflowPerMin":1.5e2,"outflowPerMin":3E-1,"density":1e-7}`,
	`{"zoneId":"zöne-ü","density":1}`,
	// Left to the strict decoder:
	`{"zoneId":"gate-a","density":1e999}`,
	`{"zoneId":"gate-a","count":1.5}`,
	`{"zoneId":"gate-a","count":1e3}`,
	`{"zoneId":"gate-a","count":99999999999999999999}`,
	`{"zoneId":"gate-a","ZoneId":"gate-b"}`,
	`{"zoneId":"gate-a","zoneId":"gate-b"}`,
	`{"zoneid":"gate-a"}`,
	`{"zoneId":"gate-a","extra":1}`,
	`{"zoneId":"gate\u002da"}`,
	`{"zoneId":null,"density":null}`,
	`{"zoneId":"gate-a","density":"2"}`,
	`{"zoneId":"gate-a","density":01}`,
	`{"zoneId":"gate-a","density":.5}`,
	`{"zoneId":"gate-a","density":1.}`,
	`{"zoneId":"gate-a","density":+1}`,
	`{"zoneId":"gate-a",}`,
	`{"zoneId":"gate-a"} x`,
	`{"zoneId":"gate-a"}{"zoneId":"gate-a"}`,
	`[{"zoneId":"gate-a"},]`,
	`[{"zoneId":"gate-a"}`,
	`{"zoneId":"gate-a"`,
	`[]`, `{}`, `[{}]`, `null`, ``, `[1]`, `"x"`, `[[]]`,
}

// FuzzFastReadings: whatever the fast path takes, the strict decoder takes
// too, with the same readings. (What it leaves, the strict decoder decides,
// so its answers cannot differ.) Run longer with
// go test -run x -fuzz=FuzzFastReadings -fuzztime=60s ./internal/api
func FuzzFastReadings(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // refused before either decoder sees it
		}
		fast, ok := fastReadings(body)
		if !ok {
			return
		}
		slow, err := decodeReadingsSlow(body)
		if err != nil {
			t.Fatalf("the fast path took %q, the strict decoder refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q decodes differently:\nfast   %s\nstrict %s", body, show(fast), show(slow))
		}
	})
}

// show prints readings by value (%+v would print their pointers).
func show(in any) string {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Sprint(err)
	}
	return string(b)
}

// TestFastReadingsTakesWhatSensorsSend: the fast path is not a path nobody
// takes. Each of these would otherwise go through encoding/json.
func TestFastReadingsTakesWhatSensorsSend(t *testing.T) {
	batch := "[" + strings.Repeat(`{"zoneId":"z01","sensorId":"s1","density":3.25,"timestamp":1764270000000},`, MaxBatch-1) +
		`{"zoneId":"z01","sensorId":"s1","density":3.25,"timestamp":1764270000001}]`
	for _, body := range append(fastSeeds[:6], batch) {
		got, ok := fastReadings([]byte(body))
		if !ok {
			t.Errorf("left to the strict decoder: %.80s", body)
			continue
		}
		want, err := decodeReadingsSlow([]byte(body))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%.80s: fast %s, strict %s (%v)", body, show(got), show(want), err)
		}
	}
	// One more than a batch may hold is the strict decoder's to refuse.
	over := "[" + strings.Repeat(`{"zoneId":"z01"},`, MaxBatch) + `{"zoneId":"z01"}]`
	if _, ok := fastReadings([]byte(over)); ok {
		t.Error("the fast path took a batch over the limit")
	}
	if _, err := DecodeReadings(strings.NewReader(over)); err == nil {
		t.Error("a batch over the limit was accepted")
	}
}

// TestFastReadingsInternsNames: a batch's repeated ids are one string each.
func TestFastReadingsInternsNames(t *testing.T) {
	got, ok := fastReadings([]byte(`[{"zoneId":"z01","sensorId":"s"},{"zoneId":"z01","sensorId":"s"}]`))
	if !ok || len(got) != 2 {
		t.Fatalf("not taken: %v", got)
	}
	if got[0].ZoneID != "z01" || got[1].SensorID != "s" {
		t.Fatalf("decoded %s", show(got))
	}
	if unsafe.StringData(got[0].ZoneID) != unsafe.StringData(got[1].ZoneID) ||
		unsafe.StringData(got[0].SensorID) != unsafe.StringData(got[1].SensorID) {
		t.Error("the same id in two readings is two strings")
	}
}

func BenchmarkDecodeReadings(b *testing.B) {
	one := []byte(`{"zoneId":"z07","sensorId":"s0007","density":3.125,"timestamp":1764270000000}`)
	batch := []byte("[" + strings.Repeat(string(one)+",", 999) + string(one) + "]")
	for _, c := range []struct {
		name string
		body []byte
	}{{"one", one}, {"batch1000", batch}} {
		b.Run(c.name+"/strict", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeReadingsSlow(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := fastReadings(c.body); !ok {
					b.Fatal("not taken")
				}
			}
		})
	}
}

// TestReadAllWithAHint: the announced size only sizes the buffer; a body
// longer or shorter than announced is read whole, and a read error stops.
func TestReadAllWithAHint(t *testing.T) {
	body := strings.Repeat("x", 1000)
	for _, hint := range []int64{0, 1, 999, 1000, 1001, 5000} {
		got, err := readAll(iotest.OneByteReader(strings.NewReader(body)), hint)
		if err != nil || string(got) != body {
			t.Errorf("hint %d: %d bytes, %v", hint, len(got), err)
		}
	}
	boom := errors.New("boom")
	if _, err := readAll(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10); !errors.Is(err, boom) {
		t.Errorf("error %v, want boom", err)
	}
}
