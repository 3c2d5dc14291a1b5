// The venue map: zone polygons from the venue file on the site plan,
// coloured by level, with the forecast on hover (an SVG <title>, which is
// also what a screen reader reads). Zones without a polygon are laid out
// as a grid beneath the plan, so every zone is always on the map. A zone
// without a live reading is hatched grey and labelled "no data"; a peak
// sensor above the fused level outlines the zone in the peak's colour.

import { h, fmtNum, fmtForecast } from './dom.js';
import { zoneView, OUTLIER_TEXT, LEVEL_SHAPE, NO_DATA } from './view.js';
import { setText, setAttr, setData } from './keyed.js';

// Labels never overlap: a zone's label goes inside its polygon only where
// the whole label box fits inside it and clear of every other label;
// a zone too small for one (a gate, the stairs, the platform) gets a
// numbered marker instead, moved out along a leader line if it would cover
// another label, and the legend under the map names it in full with its
// level (text and shape) and density. layoutLabels is pure and tested.
const CHAR_EM = 0.62; // average glyph width of the label font, in em
const VALUE_CHARS = 11; // "▲ 12.3 p/m²"

// labelBox: the box a label of these lines takes, centred on (x, y).
export function labelBox(x, y, size, lines, chars) {
  const w = chars * CHAR_EM * size;
  const hgt = lines * 1.2 * size;
  return { x0: x - w / 2, x1: x + w / 2, y0: y - hgt / 2, y1: y + hgt / 2 };
}

export const overlaps = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

// inside: whether (x, y) lies inside poly (even-odd rule).
export function inside(poly, x, y) {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

function boxInside(poly, b) {
  const e = 1e-6;
  const xs = [b.x0 + e, (b.x0 + b.x1) / 2, b.x1 - e];
  const ys = [b.y0 + e, (b.y0 + b.y1) / 2, b.y1 - e];
  return xs.every((x) => ys.every((y) => inside(poly, x, y)));
}

// layoutLabels places every zone of zones (with polygons) for a map whose
// type size is fontSize: Map id -> {kind: "inside", x, y, size, name, third, box}
// or {kind: "marker", n, x, y, r, anchor: {x, y}, box}; markers are
// numbered in the zones' order. Larger labels are placed first.
export function layoutLabels(zones, fontSize, minRatio = 0.5) {
  const placed = []; // boxes taken
  const out = new Map();
  const spots = zones.map((z) => ({ z, spot: placeLabel(z.polygon, z.name, fontSize) }));
  const order = [...spots].sort((a, b) => b.spot.size - a.spot.size);
  const small = [];
  for (const { z, spot } of order) {
    const chars = Math.max(VALUE_CHARS, ...spot.name.map((l) => l.length));
    const lines = spot.name.length + 1 + (spot.third ? 0.8 : 0);
    const box = labelBox(spot.x, spot.y, spot.size, lines, chars);
    if (spot.size >= fontSize * minRatio && boxInside(z.polygon, box) && !placed.some((p) => overlaps(p, box))) {
      placed.push(box);
      out.set(z.id, { kind: 'inside', ...spot, box });
    } else small.push({ z, spot });
  }
  small.sort((a, b) => zones.indexOf(a.z) - zones.indexOf(b.z));
  const r = fontSize * 0.55;
  small.forEach(({ z, spot }, i) => {
    let anchor;
    if (spot.size > 0) anchor = { x: spot.x, y: spot.y };
    else { const [cx, cy] = centroid(z.polygon); anchor = { x: cx, y: cy }; }
    let best = null;
    // The anchor itself, then further out in eight directions: the first
    // spot whose circle covers no label and no marker.
    for (let ring = 0; ring <= 8 && !best; ring++) {
      for (let k = 0; k < (ring ? 8 : 1) && !best; k++) {
        const a = (k * Math.PI) / 4;
        const d = ring * r * 1.6;
        const x = anchor.x + Math.cos(a) * d;
        const y = anchor.y + Math.sin(a) * d;
        const box = { x0: x - r, x1: x + r, y0: y - r, y1: y + r };
        if (!placed.some((p) => overlaps(p, box))) best = { x, y, box };
      }
    }
    best ??= { x: anchor.x, y: anchor.y, box: { x0: anchor.x - r, x1: anchor.x + r, y0: anchor.y - r, y1: anchor.y + r } };
    placed.push(best.box);
    out.set(z.id, { kind: 'marker', n: i + 1, x: best.x, y: best.y, r, anchor, box: best.box });
  });
  return out;
}

const maps = new WeakMap(); // root -> the built map

// renderMap draws the map once per venue and then updates each zone's
// shape, label and legend entry in place.
export function renderMap(root, state, now = Date.now()) {
  let m = maps.get(root);
  if (!m || m.zones !== state.zones) {
    m = buildMap(root, state);
    maps.set(root, m);
  }
  const em = state.emergency?.zoneIds ?? [];
  for (const z of state.zones) {
    const e = m.entries.get(z.id);
    const rd = state.readings.get(z.id);
    const v = zoneView(rd, now);
    const data = { level: v.level, nodata: v.noData ? 'true' : 'false', peak: v.peakLevel, emergency: em.includes(z.id) ? 'true' : 'false' };
    setData(e.g, data);
    const t = tooltipText(z, v, rd);
    setText(e.title, t.text);
    setData(e.title, { since: t.since, agePrefix: t.prefix });
    setAttr(e.g, 'aria-label', t.text);
    if (e.value) {
      setText(e.value, valueText(v, rd));
      setAttr(e.value, 'class', v.noData ? 'map-nodata' : null);
    }
    if (e.sensors) setText(e.sensors, v.sensors);
    if (e.legend) {
      setData(e.legend, data);
      setText(e.legendLevel, v.noData ? `${LEVEL_SHAPE[NO_DATA]} no data` : `${LEVEL_SHAPE[v.level] ?? ''} ${v.level}`);
      setText(e.legendValue, v.noData ? '' : `${fmtNum(rd.density, 1)} p/m²`);
    }
  }
}

function buildMap(root, state) {
  const withPoly = state.zones.filter((z) => Array.isArray(z.polygon) && z.polygon.length >= 3);
  const without = state.zones.filter((z) => !withPoly.includes(z));
  let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity;
  for (const z of withPoly) for (const [x, y] of z.polygon) {
    minX = Math.min(minX, x); minY = Math.min(minY, y); maxX = Math.max(maxX, x); maxY = Math.max(maxY, y);
  }
  if (!withPoly.length) { minX = 0; minY = 0; maxX = 100; maxY = 0; }
  const width = Math.max(maxX - minX, 1);
  const pad = width * 0.02;
  const cols = Math.max(1, Math.ceil(Math.sqrt(without.length * 2)));
  const cell = width / cols;
  const gridRows = Math.ceil(without.length / cols);
  const gridTop = withPoly.length ? maxY + pad * 2 : minY;
  const height = (gridTop - minY) + gridRows * cell * 0.6;
  const svg = h('svg:svg', {
    class: 'map', role: 'group', 'aria-label': 'Venue map: every zone coloured, shaped and named by level',
    viewBox: `${minX - pad} ${minY - pad} ${width + pad * 2} ${Math.max(height, 1) + pad * 2}`,
  });
  const fontSize = Math.max(width / 45, 0.5);
  // The hatching of "no data" zones (a CSS rule fills them with it).
  svg.append(h('svg:defs', {},
    h('svg:pattern', { id: 'nodata-hatch', patternUnits: 'userSpaceOnUse', width: fontSize * 0.8, height: fontSize * 0.8, patternTransform: 'rotate(45)' },
      h('svg:rect', { class: 'hatch-bg', width: fontSize * 0.8, height: fontSize * 0.8 }),
      h('svg:line', { class: 'hatch-line', x1: 0, y1: 0, x2: 0, y2: fontSize * 0.8 }))));
  const entries = new Map();
  const layout = layoutLabels(withPoly, fontSize);
  const shapes = h('svg:g', { class: 'map-shapes' });
  const labels = h('svg:g', { class: 'map-labels', 'aria-hidden': 'true' });
  svg.append(shapes, labels);
  const legendItems = [];
  const group = (z, shape) => {
    const e = { title: h('svg:title', {}) };
    e.g = h('svg:g', { class: 'map-zone', dataset: { zone: z.id }, tabindex: 0, role: 'img' }, e.title, shape);
    shapes.append(e.g);
    entries.set(z.id, e);
    return e;
  };
  for (const z of withPoly) {
    const e = group(z, h('svg:polygon', { points: z.polygon.map(([x, y]) => `${x},${y}`).join(' ') }));
    const spot = layout.get(z.id);
    if (spot.kind === 'inside') {
      Object.assign(e, labelNodes(labels, spot));
      continue;
    }
    const moved = Math.hypot(spot.x - spot.anchor.x, spot.y - spot.anchor.y) > 1e-6;
    labels.append(h('svg:g', { class: 'map-marker', dataset: { zone: z.id } },
      moved ? h('svg:line', { class: 'map-leader', x1: spot.anchor.x, y1: spot.anchor.y, x2: spot.x, y2: spot.y }) : null,
      moved ? h('svg:circle', { class: 'map-anchor', cx: spot.anchor.x, cy: spot.anchor.y, r: spot.r * 0.25 }) : null,
      h('svg:circle', { class: 'map-marker-dot', cx: spot.x, cy: spot.y, r: spot.r }),
      h('svg:text', { class: 'map-marker-n', x: spot.x, y: spot.y + spot.r * 0.42, 'font-size': spot.r * 1.2, 'text-anchor': 'middle' }, String(spot.n))));
    e.legendLevel = h('span', { class: 'legend-level' });
    e.legendValue = h('span', { class: 'legend-value' });
    e.legend = h('li', { class: 'legend-item', dataset: { zone: z.id } },
      h('span', { class: 'legend-n', 'aria-hidden': 'true' }, String(spot.n)),
      h('span', { class: 'legend-name' }, z.name), e.legendLevel, e.legendValue);
    legendItems.push(e.legend);
  }
  without.forEach((z, i) => {
    const x = minX + (i % cols) * cell;
    const y = gridTop + Math.floor(i / cols) * cell * 0.6;
    const e = group(z, h('svg:rect', { x: x + cell * 0.03, y: y + cell * 0.03, width: cell * 0.94, height: cell * 0.54, rx: cell * 0.04 }));
    const size = Math.min(fontSize * 1.2, cell / 9);
    const name = z.name.length * CHAR_EM * size > cell * 0.9 ? splitName(z.name) : [z.name];
    Object.assign(e, labelNodes(labels, { x: x + cell / 2, y: y + cell * 0.3, size, name, third: true }));
  });
  const nodes = [svg];
  if (legendItems.length) {
    nodes.push(h('p', { class: 'map-legend-title muted', id: 'map-legend-h' }, 'Numbered zones'));
    nodes.push(h('ol', { class: 'map-legend', 'aria-labelledby': 'map-legend-h' }, legendItems));
  }
  root.replaceChildren(...nodes);
  return { zones: state.zones, entries };
}

// labelNodes: the name (one or two lines), the value line (shape and
// density, or "no data"), and the sensor count when there is room.
function labelNodes(parent, { x, y, size, name, third }) {
  const lines = name.length + 1 + (third ? 0.8 : 0);
  const top = y - (lines * 1.2 * size) / 2 + size * 0.85; // the first baseline
  const value = h('svg:tspan', { x, dy: size * 1.2 });
  const sensors = third ? h('svg:tspan', { x, dy: size * 1.15, class: 'map-sensors', 'font-size': size * 0.8 }) : null;
  parent.append(h('svg:text', { x, y: top, 'font-size': size, 'text-anchor': 'middle', class: 'map-label' },
    name.map((n, i) => h('svg:tspan', { x, dy: i ? size * 1.2 : 0 }, n)), value, sensors));
  return { value, sensors };
}

// valueText: the value line of a label, the level's shape first.
export function valueText(v, rd) {
  if (v.noData) return `${LEVEL_SHAPE[NO_DATA]} no data`;
  return `${LEVEL_SHAPE[v.level] ?? ''} ${fmtNum(rd.density, 1)} p/m²${v.outlier ? ' ⚑' : ''}${v.peak ? ' ▲' : ''}`;
}

// tooltipText: what hover and a screen reader tell of a zone. A "no data"
// one carries its age (since, prefix) and is kept current by tickAges.
function tooltipText(z, v, r) {
  if (v.noData) return { text: `${z.name}: ${v.status}`, since: String(v.since || 0), prefix: `${z.name}: ` };
  const f = fmtForecast(r.forecast);
  const parts = [`${z.name}: ${r.level}`, `${fmtNum(r.density)} p/m²${v.outlier ? ` (${OUTLIER_TEXT})` : ''}`];
  if (v.sensors) parts.push(v.sensors);
  if (v.peak) parts.push(v.peak);
  parts.push(f || 'no threshold forecast within the horizon');
  return { text: parts.join(', '), since: null, prefix: null };
}

// placeLabel chooses where a zone's label goes and how large it is: the
// spot inside the polygon that takes the largest type, on one name line or,
// for a long name in a narrow zone, two; with room for a third line (the
// sensor count) when the spot is tall enough. L-shaped zones (concourses)
// get their label in an arm, not at a centroid outside them.
export function placeLabel(poly, name, maxSize) {
  // The label's widest line is its name or its value line ("▲ 2.4 p/m²").
  const fit = (len, lines) => (w, hgt) => Math.min(maxSize, (0.94 * w) / (Math.max(len, VALUE_CHARS) * CHAR_EM), hgt / (lines * 1.2 + 0.2));
  const one = labelSpot(poly, fit(name.length, 2));
  let best = { ...one, name: [name] };
  const wrapped = splitName(name);
  if (wrapped.length === 2 && one.size < maxSize * 0.8) {
    const two = labelSpot(poly, fit(Math.max(...wrapped.map((l) => l.length)), 3));
    if (two.size > one.size * 1.15) best = { ...two, name: wrapped };
  }
  best.third = best.height / ((best.name.length + 1.8) * 1.2 + 0.2) >= best.size * 0.8;
  return best;
}

// splitName cuts a name at the space nearest its middle.
export function splitName(name) {
  const mid = name.length / 2;
  let at = -1;
  for (let i = 0; i < name.length; i++) if (name[i] === ' ' && (at < 0 || Math.abs(i - mid) < Math.abs(at - mid))) at = i;
  return at < 0 ? [name] : [name.slice(0, at), name.slice(at + 1)];
}

// labelSpot: on a grid over the polygon's box, the inside spot whose
// horizontal and vertical runs through the polygon score best (nearest
// the centroid on a tie), centred in those runs. {x, y, size, width, height}.
export function labelSpot(poly, score, steps = 24) {
  const xs = poly.map((p) => p[0]);
  const ys = poly.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const [cx, cy] = centroid(poly);
  let best = null;
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < steps; j++) {
      const x = x0 + ((i + 0.5) / steps) * (x1 - x0);
      const y = y0 + ((j + 0.5) / steps) * (y1 - y0);
      // Centre the point across its row, then down its column there, and
      // judge the spot it ends on (where two arms cross, the runs of the
      // grid point itself would promise room the label does not get).
      const h0 = run(poly, x, y, true);
      if (!h0) continue;
      const sx = (h0[0] + h0[1]) / 2;
      const vr = run(poly, sx, y, false);
      if (!vr) continue;
      const sy = (vr[0] + vr[1]) / 2;
      const hr = run(poly, sx, sy, true);
      if (!hr) continue;
      const size = score(hr[1] - hr[0], vr[1] - vr[0]);
      const d = Math.hypot(sx - cx, sy - cy);
      if (!best || size > best.size + 1e-9 || (Math.abs(size - best.size) <= 1e-9 && d < best.d)) {
        best = { x: sx, y: sy, size, width: hr[1] - hr[0], height: vr[1] - vr[0], d };
      }
    }
  }
  if (!best) return { x: cx, y: cy, size: 0, width: 0, height: 0 };
  delete best.d;
  return best;
}

// run: the stretch of the horizontal (or vertical) line through (x, y)
// that lies inside the polygon and holds the point, or null (outside).
function run(poly, x, y, horizontal) {
  const [u, w] = horizontal ? [x, y] : [y, x];
  const cuts = [];
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i];
    const b = poly[(i + 1) % poly.length];
    const [au, aw, bu, bw] = horizontal ? [a[0], a[1], b[0], b[1]] : [a[1], a[0], b[1], b[0]];
    if ((aw <= w) !== (bw <= w)) cuts.push(au + ((w - aw) * (bu - au)) / (bw - aw));
  }
  cuts.sort((p, q) => p - q);
  for (let i = 0; i + 1 < cuts.length; i += 2) if (cuts[i] <= u && u <= cuts[i + 1]) return [cuts[i], cuts[i + 1]];
  return null;
}

// centroid of a simple polygon (area-weighted), for the label.
export function centroid(poly) {
  let a = 0; let cx = 0; let cy = 0;
  for (let i = 0; i < poly.length; i++) {
    const [x0, y0] = poly[i];
    const [x1, y1] = poly[(i + 1) % poly.length];
    const c = x0 * y1 - x1 * y0;
    a += c; cx += (x0 + x1) * c; cy += (y0 + y1) * c;
  }
  if (Math.abs(a) < 1e-9) {
    const n = poly.length;
    return [poly.reduce((s, p) => s + p[0], 0) / n, poly.reduce((s, p) => s + p[1], 0) / n];
  }
  return [cx / (3 * a), cy / (3 * a)];
}
