package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Helpers for the signed-in browser tests: an engine with a JWT secret,
// tokens minted by the real `crowdrisk token` command, the API called with
// a Bearer token, and the page's own requests (cookie and CSRF header).

const loginPath = "/admin/crowd-risk/login"

// newSecret is a fresh JWT secret: 32 random bytes, hex-encoded.
func newSecret(t *testing.T) string {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// securedEngine is an engine that requires sign-in (a fresh JWT secret in
// its environment), with a token per role from its own token command. The
// engine's own test calls (holdStream, streamRefused) use the admin token.
type securedEngine struct {
	*engine
	secret string
	tokens map[string]string // role -> token; subjects are "<role>-e2e"
}

func startSecuredEngine(t *testing.T, bin string, extra ...string) *securedEngine {
	t.Helper()
	secret := newSecret(t)
	e := startEngineEnv(t, bin, []string{"CROWDRISK_JWT_SECRET=" + secret}, extra...)
	s := &securedEngine{engine: e, secret: secret, tokens: map[string]string{}}
	for _, role := range []string{"viewer", "operator", "admin"} {
		s.tokens[role] = mintToken(t, bin, secret, role, role+"-e2e")
	}
	e.bearer = s.tokens["admin"]
	return s
}

// mintToken runs `crowdrisk token` as an operator of the engine would.
func mintToken(t *testing.T, bin, secret, role, subject string) string {
	t.Helper()
	cmd := exec.Command(bin, "token", "--role", role, "--subject", subject, "--ttl", "15m")
	cmd.Env = engineEnv([]string{"CROWDRISK_JWT_SECRET=" + secret})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("crowdrisk token --role %s: %v\n%s", role, err, stderr.String())
	}
	tok := strings.TrimSpace(string(out))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("crowdrisk token --role %s printed %q, not a JWT", role, tok)
	}
	return tok
}

// call sends a request to the engine's API with a Bearer token (empty: none)
// and returns the status and body.
func call(t *testing.T, e *engine, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url(path), rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// callJSON is call that wants want and decodes the answer into v.
func callJSON(t *testing.T, e *engine, method, path, token string, body any, want int, v any) {
	t.Helper()
	code, b := call(t, e, method, path, token, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// signInAt opens the login page and signs in there as role.
func (s *securedEngine) signInAt(t *testing.T, ctx context.Context, role string) {
	t.Helper()
	do(t, ctx, 30*time.Second, chromedp.Navigate(s.url(loginPath)))
	signIn(t, ctx, s.tokens[role], role)
}

// signIn pastes token into the login page's form, which the tab shows, and
// waits for the monitor it leads to.
func signIn(t *testing.T, ctx context.Context, token, role string) {
	t.Helper()
	waitFor(t, ctx, 10*time.Second, "the sign-in form", loginShown)
	do(t, ctx, 10*time.Second,
		chromedp.SetValue(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)))
	waitFor(t, ctx, 10*time.Second, "the monitor, signed in as "+role,
		fmt.Sprintf(`location.pathname === %q && document.body.dataset.role === %q`, monitorPath, role))
}

// fetchResult is what a request made by the page itself got.
type fetchResult struct {
	Status int    `json:"status"`
	Code   string `json:"code"` // the engine's error code, if any
}

// pageFetch sends a request from the page with fetch, as the dashboard's own
// scripts do: with the session cookie unless withCookie is false (credentials
// 'omit'), and with the X-CSRF-Token header read from the crowdrisk_csrf
// cookie when withCSRF is true.
func pageFetch(t *testing.T, ctx context.Context, method, path string, withCookie, withCSRF bool) fetchResult {
	t.Helper()
	credentials := "same-origin"
	if !withCookie {
		credentials = "omit"
	}
	js := fmt.Sprintf(`(async () => {
  const headers = { 'Content-Type': 'application/json' };
  if (%t) {
    const pair = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('crowdrisk_csrf='));
    if (!pair) throw new Error('no crowdrisk_csrf cookie to send');
    headers['X-CSRF-Token'] = decodeURIComponent(pair.slice('crowdrisk_csrf='.length));
  }
  const res = await fetch(%q, { method: %q, headers, credentials: %q, body: %s });
  let code = '';
  // An answered stream never ends, so only an error's body is read.
  if (!res.ok) { try { code = (await res.json())?.error?.code ?? ''; } catch { /* not JSON */ } }
  return { status: res.status, code };
})()`, withCSRF, path, method, credentials, map[bool]string{true: "undefined", false: "'{}'"}[method == "GET"])
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := chromedp.Run(c, chromedp.Evaluate[fetchResult](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("page fetch %s %s: %v", method, path, err)
	}
	return r
}

// traffic records what a tab asked the engine for and what it got.
type traffic struct {
	mu       sync.Mutex
	requests []string         // URLs, in order
	status   map[string]int64 // URL -> last status
}

func recordTraffic(ctx context.Context) *traffic {
	tr := &traffic{status: map[string]int64{}}
	_ = chromedp.Listen(ctx, func(ev any) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			tr.requests = append(tr.requests, ev.Request.URL)
		case *network.EventResponseReceived:
			tr.status[ev.Response.URL] = ev.Response.Status
		}
	})
	return tr
}

// streams lists the stream requests (any of the three stream endpoints).
func (tr *traffic) streams() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, u := range tr.requests {
		p, err := url.Parse(u)
		if err == nil && strings.HasPrefix(p.Path, "/api/crowd-risk/") && strings.HasSuffix(p.Path, "stream") {
			out = append(out, u)
		}
	}
	return out
}

func (tr *traffic) statusOf(rawURL string) (int64, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s, ok := tr.status[rawURL]
	return s, ok
}

// sessionCookie returns the browser's crowdrisk_session cookie for the engine.
func sessionCookie(t *testing.T, ctx context.Context, e *engine) *network.Cookie {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(c, network.GetCookies, network.GetCookiesParams{URLs: []string{e.url("/")}})
	if err != nil {
		t.Fatalf("reading the browser's cookies: %v", err)
	}
	for _, ck := range res.Cookies {
		if ck.Name == "crowdrisk_session" {
			return ck
		}
	}
	return nil
}
