package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeViolation is one failed rule of an axe-core scan.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeScan injects the vendored axe-core (testdata/axe) into the page and
// returns its serious and critical violations.
func axeScan(t *testing.T, ctx context.Context) []axeViolation {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "e2e", "testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, string(src)+";\ntrue")
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(c, chromedp.Evaluate[string](`axe.run(document).then(r => JSON.stringify({passes: r.passes.length, other: r.violations.filter(v => v.impact !== 'serious' && v.impact !== 'critical').map(v => v.id + ' (' + v.impact + ')'), violations:
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
		 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').slice(0, 200))}))}))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	var out struct {
		Passes     int            `json:"passes"`
		Other      []string       `json:"other"`
		Violations []axeViolation `json:"violations"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	if out.Passes == 0 {
		t.Fatal("axe passed no rule: the scan did not run")
	}
	t.Logf("axe: %d rules passed, %d serious or critical violations, minor/moderate: %v", out.Passes, len(out.Violations), out.Other)
	return out.Violations
}

// labelOverlapsJS lists the pairs of venue-map labels and markers whose
// boxes on screen overlap (by more than a pixel), and labels that stick
// out of their zone's polygon box.
const labelOverlapsJS = `(() => {
  const els = [...document.querySelectorAll('#venue-map .map-label, #venue-map .map-marker-dot')];
  const boxes = els.map(e => ({ e, r: e.getBoundingClientRect() }));
  const bad = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].r, b = boxes[j].r;
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 1) bad.push((boxes[i].e.textContent || 'marker') + ' / ' + (boxes[j].e.textContent || 'marker'));
  }
  return bad.join('; ');
})()`

// Every zone is named on the map, in a label inside its shape or by a
// numbered marker and the legend.
const unnamedZonesJS = `(() => {
  const labelled = new Set();
  const map = document.querySelector('#venue-map');
  for (const g of map.querySelectorAll('.map-marker')) labelled.add(g.dataset.zone);
  const texts = [...map.querySelectorAll('.map-label')].map(t => t.textContent);
  const legend = [...map.querySelectorAll('.legend-item')].map(li => li.dataset.zone);
  return [...map.querySelectorAll('.map-zone')].filter(g => {
    const z = g.dataset.zone;
    const name = g.querySelector('title').textContent.split(':')[0];
    return !(labelled.has(z) && legend.includes(z)) && !texts.some(t => t.startsWith(name.split(' ')[0]));
  }).map(g => g.dataset.zone).join(',');
})()`

// The monitor as an operator lives in it: at desktop, wall-screen and phone
// sizes, with a chart per zone on threshold bands and a time axis (15 or 60
// minutes), full zone names, levels by shape and text, map labels that never
// overlap (markers and a legend for small zones), the emergency picker with
// a filter, the audible alarm off by default, cards updated in place, and no
// serious or critical axe-core violation.
func TestOperatorDashboard(t *testing.T) {
	b := newBrowser(t)
	e := startEngine(t, buildEngine(t))
	tab := b.root
	do(t, tab, 30*time.Second, chromedp.Navigate(e.url(monitorPath)))
	waitFor(t, tab, 20*time.Second, "monitor ready and connected", stateIs("connected", "connected")+` && document.body.dataset.ready === 'true'`)
	waitFor(t, tab, 20*time.Second, "zone cards with readings and charts",
		`document.querySelectorAll('.zone[data-timestamp]:not([data-timestamp=""])').length >= 10 && document.querySelectorAll('.zone .chart .chart-line').length >= 10`)
	t.Logf("history: %s", eval[string](t, tab, `document.body.dataset.history`))

	// Cards are updated in place: the same element across new readings.
	eval[bool](t, tab, `(window.__card = document.querySelector('.zone[data-zone="fan-zone"]'), window.__ts = window.__card.dataset.timestamp, true)`)
	waitFor(t, tab, 10*time.Second, "a new fan-zone reading", `document.querySelector('.zone[data-zone="fan-zone"]').dataset.timestamp !== window.__ts`)
	if !eval[bool](t, tab, `document.querySelector('.zone[data-zone="fan-zone"]') === window.__card`) {
		t.Error("the fan zone's card was rebuilt for a reading, not updated in place")
	}

	// Full names: no ellipsis, the whole name in the card's heading.
	if got := eval[string](t, tab, `[...document.querySelectorAll('.zone h3')].filter(h => h.scrollWidth > h.clientWidth + 1 || getComputedStyle(h).textOverflow === 'ellipsis').map(h => h.textContent).join(',')`); got != "" {
		t.Errorf("cut zone names: %s", got)
	}
	// Levels by shape: the badge's ::before glyph.
	if got := eval[string](t, tab, `getComputedStyle(document.querySelector('.zone .level-badge'), '::before').content`); got == "none" || got == "" {
		t.Errorf("level badge without a shape: %q", got)
	}
	// The chart: a time axis with tick labels, threshold bands.
	if n := eval[int](t, tab, `document.querySelector('.zone .chart').querySelectorAll('.chart-band').length`); n < 2 {
		t.Errorf("%d threshold bands in a chart", n)
	}
	ticks15 := eval[string](t, tab, `[...document.querySelector('.zone .chart').querySelectorAll('.chart-tick')].map(t => t.textContent).filter(s => s.includes(':')).join(' ')`)
	do(t, tab, 10*time.Second, chromedp.Click(chromedp.CSS(`input[name="chart-window"][value="60"]`)))
	waitFor(t, tab, 5*time.Second, "the 60-minute window", `[...document.querySelector('.zone .chart').querySelectorAll('.chart-tick')].map(t => t.textContent).filter(s => s.includes(':')).join(' ') !== `+jsString(ticks15))
	ticks60 := eval[string](t, tab, `[...document.querySelector('.zone .chart').querySelectorAll('.chart-tick')].map(t => t.textContent).filter(s => s.includes(':')).join(' ')`)
	t.Logf("time axis: 15 min %q, 60 min %q", ticks15, ticks60)
	if ticks15 == "" || ticks15 == ticks60 {
		t.Errorf("the time axis did not follow the window: %q then %q", ticks15, ticks60)
	}
	do(t, tab, 10*time.Second, chromedp.Click(chromedp.CSS(`input[name="chart-window"][value="15"]`)))

	// The alarm is off by default.
	if got := eval[string](t, tab, `document.getElementById('alarm-toggle').getAttribute('aria-pressed')`); got != "false" {
		t.Errorf("alarm toggle aria-pressed %q, want false (off by default)", got)
	}
	// The emergency picker: chips with a filter (the loopback demo is admin).
	waitFor(t, tab, 5*time.Second, "the zone chips", `document.querySelectorAll('#emergency-zone-list .chip').length >= 10`)
	do(t, tab, 10*time.Second, chromedp.SendKeys(chromedp.ID("emergency-zone-search"), "gate"))
	waitFor(t, tab, 5*time.Second, "the filter showing the gates", `[...document.querySelectorAll('#emergency-zone-list .chip')].filter(c => !c.hidden).map(c => c.dataset.zone).sort().join(',') === 'gate-a,gate-b'`)
	do(t, tab, 10*time.Second, chromedp.Click(chromedp.CSS(`#emergency-zone-list .chip[data-zone="gate-a"]`)))
	if got := eval[string](t, tab, `document.getElementById('emergency-zones-count').textContent`); got != "1 selected" {
		t.Errorf("picker count %q", got)
	}

	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1440, 1000}, {"wall", 2560, 1440}, {"phone", 390, 844}} {
		do(t, tab, 10*time.Second, chromedp.EmulateViewport(size.w, size.h))
		time.Sleep(700 * time.Millisecond) // a repaint at the new size
		if bad := eval[string](t, tab, labelOverlapsJS); bad != "" {
			t.Errorf("%s: overlapping map labels: %s", size.name, bad)
		}
		if bad := eval[string](t, tab, unnamedZonesJS); bad != "" {
			t.Errorf("%s: zones without a name on the map: %s", size.name, bad)
		}
		if size.name != "wall" {
			for _, v := range axeScan(t, tab) {
				t.Errorf("%s: axe %s (%s): %s %s", size.name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, " | "))
			}
		}
		screenshot(t, tab, fmt.Sprintf("%s-%dx%d", size.name, size.w, size.h))
		viewportShot(t, tab, fmt.Sprintf("%s-%dx%d-viewport", size.name, size.w, size.h))
	}
}

// viewportShot saves what the screen shows (not the whole page) as an artifact.
func viewportShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CROWDRISK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "artifacts")
	}
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}
