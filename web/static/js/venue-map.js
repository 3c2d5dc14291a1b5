// The venue map: zone polygons from the venue file on the site plan,
// coloured by level, with the forecast on hover (an SVG <title>, which is
// also what a screen reader reads). Zones without a polygon are laid out
// as a grid beneath the plan, so every zone is always on the map. A zone
// without a live reading is hatched grey and labelled "no data"; a peak
// sensor above the fused level outlines the zone in the peak's colour.

import { h, fmtNum, fmtForecast } from './dom.js';
import { zoneView, OUTLIER_TEXT } from './view.js';
import { ageAttrs } from './zones.js';

export function renderMap(root, state, now = Date.now()) {
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
    class: 'map', role: 'img', 'aria-label': 'Venue map coloured by level',
    viewBox: `${minX - pad} ${minY - pad} ${width + pad * 2} ${Math.max(height, 1) + pad * 2}`,
  });
  const fontSize = Math.max(width / 45, 0.5);
  const em = state.emergency?.zoneIds ?? [];
  // The hatching of "no data" zones (a CSS rule fills them with it).
  svg.append(h('svg:defs', {},
    h('svg:pattern', { id: 'nodata-hatch', patternUnits: 'userSpaceOnUse', width: fontSize * 0.8, height: fontSize * 0.8, patternTransform: 'rotate(45)' },
      h('svg:rect', { class: 'hatch-bg', width: fontSize * 0.8, height: fontSize * 0.8 }),
      h('svg:line', { class: 'hatch-line', x1: 0, y1: 0, x2: 0, y2: fontSize * 0.8 }))));
  const attrs = (z) => {
    const v = zoneView(state.readings.get(z.id), now);
    return { class: 'map-zone', dataset: { level: v.level, zone: z.id, nodata: v.noData ? 'true' : 'false', peak: v.peakLevel, emergency: em.includes(z.id) ? 'true' : 'false' }, tabindex: 0 };
  };
  for (const z of withPoly) {
    const pts = z.polygon.map(([x, y]) => `${x},${y}`).join(' ');
    // A label no wider than its zone: small zones rely on the hover title.
    const spot = cachedLabel(z, fontSize);
    svg.append(h('svg:g', attrs(z),
      tooltip(state, z, now),
      h('svg:polygon', { points: pts }),
      spot.size >= fontSize * 0.45 ? label(z, state, spot, now) : null));
  }
  without.forEach((z, i) => {
    const x = minX + (i % cols) * cell;
    const y = gridTop + Math.floor(i / cols) * cell * 0.6;
    svg.append(h('svg:g', attrs(z),
      tooltip(state, z, now),
      h('svg:rect', { x: x + cell * 0.03, y: y + cell * 0.03, width: cell * 0.94, height: cell * 0.54, rx: cell * 0.04 }),
      label(z, state, { x: x + cell / 2, y: y + cell * 0.3, size: Math.min(fontSize * 1.2, cell / 9), name: [z.name], third: true }, now)));
  });
  root.replaceChildren(svg);
}

// label: the name (on one or two lines), the density (or "no data") with
// outlier and peak markers, and the sensor count on a last line when the
// spot is tall enough; spot is placeLabel's, centred on (x, y).
function label(z, state, { x, y, size, name, third }, now) {
  const r = state.readings.get(z.id);
  const v = zoneView(r, now);
  const value = v.noData ? 'no data' : `${fmtNum(r.density, 1)} p/m²${v.outlier ? ' ⚑' : ''}${v.peak ? ' ▲' : ''}`;
  const lines = name.length + 1 + (third && v.sensors ? 0.8 : 0);
  const top = y - (lines * 1.2 * size) / 2 + size * 0.85; // the first baseline
  return h('svg:text', { x, y: top, 'font-size': size, 'text-anchor': 'middle', class: 'map-label' },
    name.map((n, i) => h('svg:tspan', { x, dy: i ? size * 1.2 : 0 }, n)),
    h('svg:tspan', { x, dy: size * 1.2, class: v.noData ? 'map-nodata' : null }, value),
    third && v.sensors ? h('svg:tspan', { x, dy: size * 1.15, class: 'map-sensors', 'font-size': size * 0.8 }, v.sensors) : null);
}

// The venue's geometry does not change between renders (a render per
// frame of readings): each zone's label spot is computed once per polygon.
const spots = new WeakMap(); // polygon -> {key, spot}
function cachedLabel(z, fontSize) {
  const key = `${z.name}|${fontSize}`;
  const hit = spots.get(z.polygon);
  if (hit?.key === key) return hit.spot;
  const spot = placeLabel(z.polygon, z.name, fontSize);
  spots.set(z.polygon, { key, spot });
  return spot;
}

// placeLabel chooses where a zone's label goes and how large it is: the
// spot inside the polygon that takes the largest type, on one name line or,
// for a long name in a narrow zone, two; with room for a third line (the
// sensor count) when the spot is tall enough. L-shaped zones (concourses)
// get their label in an arm, not at a centroid outside them.
export function placeLabel(poly, name, maxSize) {
  const fit = (len, lines) => (w, hgt) => Math.min(maxSize, (1.7 * w) / Math.max(len, 6), hgt / (lines * 1.2 + 0.2));
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

// tooltip: the <title> of a zone, what hover and a screen reader tell. A
// "no data" one carries its age and is kept current by tickAges.
function tooltip(state, z, now) {
  const r = state.readings.get(z.id);
  const v = zoneView(r, now);
  if (v.noData) return h('svg:title', ageAttrs(v.since, `${z.name}: `), `${z.name}: ${v.status}`);
  const f = fmtForecast(r.forecast);
  const parts = [`${z.name}: ${r.level}`, `${fmtNum(r.density)} p/m²${v.outlier ? ` (${OUTLIER_TEXT})` : ''}`];
  if (v.sensors) parts.push(v.sensors);
  if (v.peak) parts.push(v.peak);
  parts.push(f || 'no threshold forecast within the horizon');
  return h('svg:title', {}, parts.join(', '));
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
