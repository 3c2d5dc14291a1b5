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
    const [cx, cy] = centroid(z.polygon);
    // A label no wider than its zone: small zones rely on the hover title.
    const xs = z.polygon.map((p) => p[0]);
    const ys = z.polygon.map((p) => p[1]);
    const fit = Math.min(fontSize, (1.7 * (Math.max(...xs) - Math.min(...xs))) / Math.max(z.name.length, 6), (Math.max(...ys) - Math.min(...ys)) / 2.6);
    const tall = (Math.max(...ys) - Math.min(...ys)) / 3.8 >= fit * 0.8;
    svg.append(h('svg:g', attrs(z),
      tooltip(state, z, now),
      h('svg:polygon', { points: pts }),
      fit >= fontSize * 0.45 ? label(z, state, cx, cy - fit * (tall ? 1 : 0.5), fit, tall, now) : null));
  }
  without.forEach((z, i) => {
    const x = minX + (i % cols) * cell;
    const y = gridTop + Math.floor(i / cols) * cell * 0.6;
    svg.append(h('svg:g', attrs(z),
      tooltip(state, z, now),
      h('svg:rect', { x: x + cell * 0.03, y: y + cell * 0.03, width: cell * 0.94, height: cell * 0.54, rx: cell * 0.04 }),
      label(z, state, x + cell / 2, y + cell * 0.22, Math.min(fontSize * 1.2, cell / 9), true, now)));
  });
  root.replaceChildren(svg);
}

// label: the name, the density (or "no data") with a peak marker, and the
// sensor count on a third line when the shape is tall enough.
function label(z, state, x, y, size, third, now) {
  const r = state.readings.get(z.id);
  const v = zoneView(r, now);
  const value = v.noData ? 'no data' : `${fmtNum(r.density, 1)} p/m²${v.outlier ? ' ⚑' : ''}${v.peak ? ' ▲' : ''}`;
  return h('svg:text', { x, y, 'font-size': size, 'text-anchor': 'middle', class: 'map-label' },
    h('svg:tspan', { x, dy: 0 }, z.name),
    h('svg:tspan', { x, dy: size * 1.2, class: v.noData ? 'map-nodata' : null }, value),
    third && v.sensors ? h('svg:tspan', { x, dy: size * 1.15, class: 'map-sensors', 'font-size': size * 0.8 }, v.sensors) : null);
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
