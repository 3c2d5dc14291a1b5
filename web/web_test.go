package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newServer(t *testing.T) (*Web, *httptest.Server) {
	t.Helper()
	w, err := New(Options{Title: "Test Venue <Control>"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return w, srv
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestPagesReferenceHashedAssetsAndAreNotCached(t *testing.T) {
	w, srv := newServer(t)
	for _, p := range []string{MonitorPath, TestingPath, LoginPath} {
		res, body := get(t, srv.URL+p)
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, res.StatusCode)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q", p, got)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type %q", p, res.Header.Get("Content-Type"))
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if !strings.Contains(body, w.StaticPrefix()+"/css/app.css") {
			t.Errorf("%s: no hashed stylesheet link in page", p)
		}
		// The title is escaped by html/template.
		if !strings.Contains(body, "Test Venue &lt;Control&gt;") {
			t.Errorf("%s: title not rendered escaped", p)
		}
		// Every asset the page references is served.
		for _, m := range regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1) {
			if r, _ := get(t, srv.URL+m[1]); r.StatusCode != 200 {
				t.Errorf("%s references %s: status %d", p, m[1], r.StatusCode)
			}
		}
	}
}

// The pages will run under a CSP without 'unsafe-inline': no inline script,
// no inline handler, no style attribute.
func TestPagesHaveNoInlineCode(t *testing.T) {
	_, srv := newServer(t)
	inline := regexp.MustCompile(`(?i)<script(?:[^>]*)>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|<style`)
	for _, p := range []string{MonitorPath, TestingPath, LoginPath} {
		_, body := get(t, srv.URL+p)
		if m := inline.FindString(body); m != "" {
			t.Errorf("%s has inline code: %q", p, m)
		}
	}
}

func TestRootRedirectsToMonitor(t *testing.T) {
	_, srv := newServer(t)
	res, _ := get(t, srv.URL+"/")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != MonitorPath {
		t.Fatalf("GET / = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestAssetsAreImmutableWithETagAnd304(t *testing.T) {
	w, srv := newServer(t)
	url := srv.URL + w.StaticPrefix() + "/js/connection.js"
	res, body := get(t, url)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control %q", got)
	}
	if got := res.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q (module scripts need a JavaScript type)", got)
	}
	if !strings.Contains(body, "export class ConnectionManager") {
		t.Errorf("unexpected body")
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res, body = get(t, url, "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation: %d with %d bytes", res.StatusCode, len(body))
	}
	res, _ = get(t, url, "If-None-Match", `"other", W/`+etag)
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("weak etag in a list: %d", res.StatusCode)
	}
	res, _ = get(t, url, "If-None-Match", `"stale"`)
	if res.StatusCode != 200 {
		t.Fatalf("stale etag: %d", res.StatusCode)
	}
	res, _ = get(t, srv.URL+w.StaticPrefix()+"/css/app.css")
	if got := res.Header.Get("Content-Type"); got != "text/css; charset=utf-8" {
		t.Errorf("css Content-Type %q", got)
	}
}

func TestUnknownTraversalAndStaleHashAre404(t *testing.T) {
	w, srv := newServer(t)
	prefix := srv.URL + w.StaticPrefix()
	for _, p := range []string{
		prefix + "/js/nope.js",
		prefix + "/",
		prefix + "/js",
		prefix + "/../web.go",
		prefix + "/%2e%2e/web.go",
		prefix + "/js/..%2f..%2fweb.go",
		prefix + "/..%2f..%2f..%2fetc/passwd",
		srv.URL + "/static/0000000000000000/js/connection.js",
		srv.URL + "/static/" + w.Hash() + "x/js/connection.js",
	} {
		// ServeMux may first redirect to the cleaned path; follow it.
		res, err := http.Get(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body := string(b)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d", p, res.StatusCode)
		}
		if strings.Contains(body, "package web") || strings.Contains(body, "root:") {
			t.Errorf("%s leaked a file", p)
		}
	}
}

func TestHashChangesWithContent(t *testing.T) {
	w1, _ := New(Options{})
	w2, _ := New(Options{})
	if w1.Hash() != w2.Hash() || len(w1.Hash()) != 16 {
		t.Fatalf("hash not stable: %q %q", w1.Hash(), w2.Hash())
	}
	h1 := hashOf(t, map[string]string{"a.js": "1"})
	h2 := hashOf(t, map[string]string{"a.js": "2"})
	h3 := hashOf(t, map[string]string{"b.js": "1"})
	if h1 == h2 || h1 == h3 {
		t.Fatalf("hash ignores content or names: %s %s %s", h1, h2, h3)
	}
}
