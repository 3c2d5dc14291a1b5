// Package web serves the operator dashboard: three HTML pages (monitor,
// testing, login) and their assets (ES modules, CSS), all embedded in the
// binary so that `go run ./cmd/crowdrisk` needs no front-end build step.
//
// Assets live under /static/{hash}/..., where hash covers the whole asset
// tree: a deploy changes every asset URL at once, so browsers may cache
// assets forever (immutable) while ES modules still import each other by
// relative paths. Pages are small, rendered once at start-up and never cached.
package web

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
)

//go:embed static templates
var embedded embed.FS

// Options configure the dashboard.
type Options struct {
	// Title is shown in the page headers and the browser tab.
	// Default "Crowd Risk Engine".
	Title string
}

// Paths of the pages, shared with the API (redirects) and the tests.
const (
	MonitorPath = "/admin/crowd-risk/monitor"
	TestingPath = "/admin/crowd-risk/testing"
	LoginPath   = "/admin/crowd-risk/login"
)

// Web holds the embedded assets and the rendered pages.
type Web struct {
	assets *assetSet
	pages  map[string][]byte // page name -> rendered HTML
}

// New reads the embedded assets, computes their hash and renders the pages.
func New(opts Options) (*Web, error) {
	if opts.Title == "" {
		opts.Title = "Crowd Risk Engine"
	}
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	assets, err := loadAssets(static)
	if err != nil {
		return nil, err
	}
	pages, err := renderPages(embedded, opts.Title, assets.prefix())
	if err != nil {
		return nil, err
	}
	return &Web{assets: assets, pages: pages}, nil
}

// Hash is the content hash of the asset tree (the {hash} of asset URLs).
func (w *Web) Hash() string { return w.assets.hash }

// StaticPrefix is the URL prefix of the assets, "/static/{hash}".
func (w *Web) StaticPrefix() string { return w.assets.prefix() }

// Register adds the dashboard's routes to mux.
func (w *Web) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, MonitorPath, http.StatusFound)
	})
	mux.Handle("GET "+MonitorPath, w.page("monitor"))
	mux.Handle("GET "+TestingPath, w.page("testing"))
	mux.Handle("GET "+LoginPath, w.page("login"))
	mux.HandleFunc("GET /static/{hash}/{path...}", w.serveAsset)
}
