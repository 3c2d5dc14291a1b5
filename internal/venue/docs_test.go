package venue

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExampleParses keeps docs/venue.md's example a valid venue file.
func TestDocsExampleParses(t *testing.T) {
	doc, err := os.ReadFile("../../docs/venue.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/venue.md has no json example")
	}
	v, err := Parse([]byte(example))
	if err != nil {
		t.Fatalf("the documented example does not parse: %v", err)
	}
	exit := v.Zones[1]
	if exit.Thresholds.Warning != 1.8 || exit.Thresholds.Watch != 1.1 || exit.Rules == nil || exit.Rules.DwellLow == nil {
		t.Errorf("example zone %+v", exit)
	}
}
