package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
)

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	etag        string
	contentType string
}

// assetSet is every embedded asset by its path below static/, and the hash
// of the whole tree.
type assetSet struct {
	hash  string
	files map[string]asset
}

func (s *assetSet) prefix() string { return "/static/" + s.hash }

// contentTypes are set explicitly: the platform's MIME table may lack .mjs or
// map .js to application/javascript, and module scripts need a JS type.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

func loadAssets(static fs.FS) (*assetSet, error) {
	files := map[string]asset{}
	var names []string
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := contentTypes[path.Ext(p)]
		if ct == "" {
			ct = mime.TypeByExtension(path.Ext(p))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		files[p] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: ct}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: reading embedded assets: %w", err)
	}
	// The tree hash covers names and contents in a fixed order, so it only
	// changes when an asset does.
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, files[n].etag)
	}
	return &assetSet{hash: hex.EncodeToString(h.Sum(nil))[:16], files: files}, nil
}

// serveAsset answers GET /static/{hash}/{path...}. Only files of the embedded
// map are served, so no request path can reach the file system; an old hash
// gets 404 rather than new content that might not fit the old page.
func (w *Web) serveAsset(rw http.ResponseWriter, r *http.Request) {
	a, ok := w.assets.files[r.PathValue("path")]
	if !ok || r.PathValue("hash") != w.assets.hash || strings.Contains(r.PathValue("path"), "..") {
		http.NotFound(rw, r)
		return
	}
	h := rw.Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		rw.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Length", fmt.Sprint(len(a.body)))
	rw.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = rw.Write(a.body)
	}
}

// etagMatches implements If-None-Match's weak comparison over a list.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
