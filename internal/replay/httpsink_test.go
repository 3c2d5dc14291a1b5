package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// ingestServer is a real HTTP server on a loopback port that records what
// it is posted and refuses zone "nope" the way the engine does.
type ingestServer struct {
	*httptest.Server
	mu      sync.Mutex
	batches [][]crowd.ReadingInput
	auth    []string
}

func newIngestServer(t *testing.T) *ingestServer {
	s := &ingestServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ReadingsPath, func(w http.ResponseWriter, r *http.Request) {
		var batch []crowd.ReadingInput
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.batches = append(s.batches, batch)
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		for i, in := range batch {
			if in.ZoneID == "nope" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]any{"error": crowd.Invalidf(fmt.Sprintf("readings[%d].zoneId", i), "unknown zone %q", in.ZoneID)})
				return
			}
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"accepted":1}`)
	})
	mux.HandleFunc("POST /plain"+ReadingsPath, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "go away", http.StatusForbidden)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestHTTPSink(t *testing.T) {
	srv := newIngestServer(t)
	ctx := context.Background()

	sink := HTTPSink(srv.Client(), srv.URL+"/", "s3cret")
	if err := sink(ctx, []crowd.ReadingInput{reading("gate", 1000, 1.5)}); err != nil {
		t.Fatal(err)
	}
	if len(srv.batches) != 1 || srv.batches[0][0].ZoneID != "gate" || *srv.batches[0][0].Density != 1.5 {
		t.Fatalf("server received %+v", srv.batches)
	}
	if srv.auth[0] != "Bearer s3cret" {
		t.Errorf("Authorization %q", srv.auth[0])
	}

	err := sink(ctx, []crowd.ReadingInput{reading("nope", 1000, 1)})
	var ce *crowd.Error
	if !errors.As(err, &ce) || ce.Field != "readings[0].zoneId" || !strings.Contains(err.Error(), "400") {
		t.Fatalf("error %v, want the server's crowd.Error with the status", err)
	}

	err = HTTPSink(srv.Client(), srv.URL+"/plain", "")(ctx, []crowd.ReadingInput{reading("gate", 1, 1)})
	if err == nil || !strings.Contains(err.Error(), "go away") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("plain error %v, want the server's text", err)
	}

	if err := HTTPSink(srv.Client(), srv.URL, "")(ctx, []crowd.ReadingInput{reading("gate", 2000, 1)}); err != nil {
		t.Fatal(err)
	}
	if srv.auth[len(srv.auth)-1] != "" {
		t.Errorf("Authorization %q sent without a token", srv.auth[len(srv.auth)-1])
	}
}
