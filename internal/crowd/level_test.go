package crowd

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// jsonTestLevels are the levels, and some out of range.
var jsonTestLevels = []Level{Normal, Watch, Warning, Critical, Emergency, -1, 5, 42, math.MinInt, math.MaxInt}

// TestLevelJSON: MarshalJSON writes what json.Marshal of the level's name
// wrote, into a slice of the caller's own.
func TestLevelJSON(t *testing.T) {
	for _, l := range jsonTestLevels {
		want, _ := json.Marshal(l.String())
		got, err := l.MarshalJSON()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d: MarshalJSON = %s, %v; want %s", int(l), got, err, want)
		}
		// The slice is the caller's: changing it changes no later answer.
		got[1] = 'X'
		if again, _ := l.MarshalJSON(); !bytes.Equal(again, want) {
			t.Fatalf("%d: after the caller changed an answer, MarshalJSON = %s", int(l), again)
		}
		if l >= Normal && l <= Emergency {
			var back Level
			if err := json.Unmarshal(want, &back); err != nil || back != l {
				t.Fatalf("%s does not read back: %v, %v", want, back, err)
			}
		}
	}
	// Inside a struct and as a map key (where encoding/json uses the
	// number, not MarshalJSON: unchanged).
	b, err := json.Marshal(struct {
		L Level
		M map[Level]int
	}{Critical, map[Level]int{Watch: 1, Level(9): 2}})
	if want := `{"L":"critical","M":{"1":1,"9":2}}`; err != nil || string(b) != want {
		t.Fatalf("got %s, %v; want %s", b, err, want)
	}
}
