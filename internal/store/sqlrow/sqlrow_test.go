package sqlrow

import (
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// The row mapping is exercised on both real backends by storetest; these
// check what a backend cannot: that the statements agree with the argument
// lists for either dialect.
func TestUpsertMatchesAlertArgs(t *testing.T) {
	n := len(AlertArgs(crowd.Alert{}))
	if got := strings.Count(UpsertAlert(Question), "?"); got != n {
		t.Fatalf("upsert has %d placeholders, AlertArgs gives %d values", got, n)
	}
	if pg := UpsertAlert(Dollar); !strings.Contains(pg, "$16)") || strings.Contains(pg, "$17") {
		t.Fatalf("postgres upsert numbers its placeholders wrongly: %s", pg)
	}
}

func TestFilterQueriesNumberTheirArguments(t *testing.T) {
	q, args := AlertsQuery(store.AlertFilter{Status: crowd.StatusActive, ZoneID: "z", Limit: 5}, Dollar)
	if len(args) != 3 || !strings.Contains(q, "status = $1") || !strings.Contains(q, "zone_id = $2") || !strings.HasSuffix(q, "LIMIT $3") {
		t.Fatalf("%s %v", q, args)
	}
	q, args = IncidentsQuery(store.IncidentFilter{ZoneID: "z", Since: 1, Until: 2}, Question)
	if len(args) != 5 || strings.Count(q, "?") != 5 || args[4] != DefaultIncidentLimit {
		t.Fatalf("%s %v", q, args)
	}
}
