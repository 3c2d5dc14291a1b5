package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
)

// pageNames are the templates under templates/, one per page.
var pageNames = []string{"monitor", "testing", "login"}

// pageData is what a page template sees.
type pageData struct {
	Title  string
	Page   string
	Static string // "/static/{hash}"
}

func renderPages(fsys fs.FS, title, static string) (map[string][]byte, error) {
	tmpl, err := template.ParseFS(fsys, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parsing templates: %w", err)
	}
	pages := map[string][]byte{}
	for _, name := range pageNames {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name+".html", pageData{Title: title, Page: name, Static: static}); err != nil {
			return nil, fmt.Errorf("web: rendering %s: %w", name, err)
		}
		pages[name] = buf.Bytes()
	}
	return pages, nil
}

// pageCSP allows only same-origin scripts, styles and connections: the pages
// carry no inline script, handler or style attribute, so nothing else is needed.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// page serves a rendered page. no-cache makes the browser revalidate, so a
// deploy's new asset hash is picked up on the next load.
func (w *Web) page(name string) http.Handler {
	body := w.pages[name]
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		_, _ = rw.Write(body)
	})
}
