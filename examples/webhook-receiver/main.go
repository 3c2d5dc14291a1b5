// Command webhook-receiver is a minimal receiver of the Crowd Risk Engine's
// notifications (docs/notifications.md). It checks, in this order:
//
//  1. the signature: X-CrowdRisk-Signature is "sha256=" and the hex
//     HMAC-SHA256 of the raw body keyed by the shared secret, compared in
//     constant time, before the body is parsed;
//  2. the timestamp: the body's sentAt (the same value as the
//     X-CrowdRisk-Timestamp header, but signed) is within -tolerance of
//     now, so a captured request cannot be replayed later;
//  3. the delivery id: delivery is at least once, so a delivery id seen
//     before (a retry after a timeout, or a replay within the tolerance) is
//     answered 200 and not processed again.
//
// It copies nothing from the engine, so it can be copied as it is:
//
//	CROWDRISK_WEBHOOK_SECRET=... go run ./examples/webhook-receiver -addr 127.0.0.1:9000
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// notification is the part of the payload this receiver reads.
type notification struct {
	DeliveryID string          `json:"deliveryId"`
	Change     string          `json:"change"`
	SentAt     int64           `json:"sentAt"`
	Alert      json.RawMessage `json:"alert"`
}

type receiver struct {
	secret    []byte
	tolerance time.Duration
	now       func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // delivery id -> when first processed
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	// 1. Signature, over the raw bytes as received.
	mac := hmac.New(sha256.New, rc.secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-CrowdRisk-Signature"))) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n notification
	if err := json.Unmarshal(body, &n); err != nil || n.DeliveryID == "" {
		http.Error(w, "not a notification", http.StatusBadRequest)
		return
	}
	// 2. Timestamp: the signed sentAt, which the header repeats.
	if h := r.Header.Get("X-CrowdRisk-Timestamp"); h != strconv.FormatInt(n.SentAt, 10) {
		http.Error(w, "timestamp header does not match the body", http.StatusUnauthorized)
		return
	}
	if d := rc.now().Sub(time.Unix(n.SentAt, 0)); d > rc.tolerance || d < -rc.tolerance {
		http.Error(w, "stale or future timestamp", http.StatusUnauthorized)
		return
	}
	// 3. Dedupe: ids are remembered a little longer than the tolerance, so
	// a replay inside the window is caught here and one outside it by 2.
	rc.mu.Lock()
	for id, at := range rc.seen {
		if rc.now().Sub(at) > 2*rc.tolerance {
			delete(rc.seen, id)
		}
	}
	_, dup := rc.seen[n.DeliveryID]
	if !dup {
		rc.seen[n.DeliveryID] = rc.now()
	}
	rc.mu.Unlock()
	if dup {
		w.WriteHeader(http.StatusOK) // already handled: say so, or it is sent again
		return
	}
	// Process it: here, print it. A real receiver hands it to a queue and
	// answers at once (the engine waits 10 s by default, then retries).
	fmt.Printf("verified %s %s %s\n", n.DeliveryID, n.Change, n.Alert)
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	tolerance := flag.Duration("tolerance", 5*time.Minute, "accepted difference between sentAt and this host's clock")
	flag.Parse()
	secret := os.Getenv("CROWDRISK_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set CROWDRISK_WEBHOOK_SECRET to the engine's secret")
	}
	rc := &receiver{secret: []byte(secret), tolerance: *tolerance, now: time.Now, seen: map[string]time.Time{}}
	log.Printf("webhook receiver on http://%s", *addr)
	srv := &http.Server{Addr: *addr, Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
