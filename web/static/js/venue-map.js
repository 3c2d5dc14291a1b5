// The venue map: zone polygons from the venue file on the site plan,
// coloured by level, with the forecast on hover (an SVG <title>, which is
// also what a screen reader reads). Zones without a polygon are laid out
// as a grid beneath the plan, so every zone is always on the map.

import { h, fmtNum, fmtForecast } from './dom.js';

export function renderMap(root, state) {
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
  for (const z of withPoly) {
    const pts = z.polygon.map(([x, y]) => `${x},${y}`).join(' ');
    const [cx, cy] = centroid(z.polygon);
    // A label no wider than its zone: small zones rely on the hover title.
    const xs = z.polygon.map((p) => p[0]);
    const ys = z.polygon.map((p) => p[1]);
    const fit = Math.min(fontSize, (1.7 * (Math.max(...xs) - Math.min(...xs))) / Math.max(z.name.length, 6), (Math.max(...ys) - Math.min(...ys)) / 2.6);
    svg.append(h('svg:g', { class: 'map-zone', dataset: { level: levelOf(state, z), zone: z.id, emergency: em.includes(z.id) ? 'true' : 'false' }, tabindex: 0 },
      h('svg:title', {}, tooltip(state, z)),
      h('svg:polygon', { points: pts }),
      fit >= fontSize * 0.45 ? label(z, state, cx, cy - fit * 0.5, fit) : null));
  }
  without.forEach((z, i) => {
    const x = minX + (i % cols) * cell;
    const y = gridTop + Math.floor(i / cols) * cell * 0.6;
    svg.append(h('svg:g', { class: 'map-zone', dataset: { level: levelOf(state, z), zone: z.id, emergency: em.includes(z.id) ? 'true' : 'false' }, tabindex: 0 },
      h('svg:title', {}, tooltip(state, z)),
      h('svg:rect', { x: x + cell * 0.03, y: y + cell * 0.03, width: cell * 0.94, height: cell * 0.54, rx: cell * 0.04 }),
      label(z, state, x + cell / 2, y + cell * 0.3, Math.min(fontSize * 1.2, cell / 9))));
  });
  root.replaceChildren(svg);
}

function levelOf(state, z) { return state.readings.get(z.id)?.level ?? 'unknown'; }

function label(z, state, x, y, size) {
  const r = state.readings.get(z.id);
  return h('svg:text', { x, y, 'font-size': size, 'text-anchor': 'middle', class: 'map-label' },
    h('svg:tspan', { x, dy: 0 }, z.name),
    h('svg:tspan', { x, dy: size * 1.2 }, r ? `${fmtNum(r.density, 1)} p/m²` : '–'));
}

function tooltip(state, z) {
  const r = state.readings.get(z.id);
  if (!r) return `${z.name}: no data`;
  const f = fmtForecast(r.forecast);
  return `${z.name}: ${r.level}, ${fmtNum(r.density)} p/m²${f ? `, ${f}` : ', no threshold forecast within the horizon'}`;
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
