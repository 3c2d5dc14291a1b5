package notify

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// The receiver of examples/webhook-receiver, built and run as a venue
// would: it takes the notifier's deliveries and refuses a forged body, a
// stale timestamp and a header that disagrees with the signed sentAt.
func TestExampleReceiver(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "webhook-receiver")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/webhook-receiver").CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr)
	cmd.Env = append(os.Environ(), "CROWDRISK_WEBHOOK_SECRET="+string(secret))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	url := "http://" + addr + "/"
	waitFor(t, "the example to listen", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	r := openRig(t, "", time.Now)
	n, err := New(fastOptions(r, Receiver{Name: "example", URL: url}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := n.Init(ctx); err != nil {
		t.Fatal(err)
	}
	a := r.raise(t, "gate-a", crowd.Critical)
	n.Step(ctx)
	n.deliverDue(ctx, n.receivers[0])
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "verified dl_") || !strings.Contains(l, " raise ") || !strings.Contains(l, a.ID) {
			t.Fatalf("example printed %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the example did not verify the delivery")
	}
	if st := n.Status().Receivers[0]; st.Delivered != 1 || st.Failing {
		t.Fatalf("status %+v", st)
	}

	post := func(body []byte, sig, ts string) int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set(HeaderSignature, sig)
		req.Header.Set(HeaderTimestamp, ts)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now().Unix()
	fresh := []byte(`{"deliveryId":"dl_x","change":"raise","sentAt":` + strconv.FormatInt(now, 10) + `,"alert":{}}`)
	stale := []byte(`{"deliveryId":"dl_y","change":"raise","sentAt":` + strconv.FormatInt(now-3600, 10) + `,"alert":{}}`)
	cases := []struct {
		name    string
		body    []byte
		sig, ts string
		want    int
	}{
		{"forged", fresh, Sign([]byte("another secret, not the engine's"), fresh), strconv.FormatInt(now, 10), 401},
		{"stale (a replay)", stale, Sign(secret, stale), strconv.FormatInt(now-3600, 10), 401},
		{"header moved", stale, Sign(secret, stale), strconv.FormatInt(now, 10), 401},
		{"good", fresh, Sign(secret, fresh), strconv.FormatInt(now, 10), 204},
		{"duplicate", fresh, Sign(secret, fresh), strconv.FormatInt(now, 10), 200},
	}
	for _, c := range cases {
		if got := post(c.body, c.sig, c.ts); got != c.want {
			t.Errorf("%s: %d; want %d", c.name, got, c.want)
		}
	}
}
