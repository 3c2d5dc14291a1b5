// A small trend line of a zone's recent density, with the zone's warning
// and critical thresholds as dashed guides so the slope reads against them.

import { h } from './dom.js';

const W = 120;
const H = 32;

export function sparkline(points, thresholds, windowMs) {
  const svg = h('svg:svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  if (!points?.length) return svg;
  const tEnd = points[points.length - 1].t;
  const tStart = tEnd - windowMs;
  const top = Math.max(thresholds?.critical ?? 0, ...points.map((p) => p.v)) * 1.1 || 1;
  const x = (t) => ((t - tStart) / windowMs) * W;
  const y = (v) => H - (Math.max(0, v) / top) * H;
  for (const [name, v] of [['warning', thresholds?.warning], ['critical', thresholds?.critical]]) {
    if (!Number.isFinite(v)) continue;
    svg.append(h('svg:line', { class: `spark-guide guide-${name}`, x1: 0, x2: W, y1: y(v).toFixed(1), y2: y(v).toFixed(1) }));
  }
  const pts = points.filter((p) => p.t >= tStart).map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
  if (pts.length === 1) pts.unshift(`0,${pts[0].split(',')[1]}`);
  svg.append(h('svg:polyline', { class: 'spark-line', points: pts.join(' ') }));
  return svg;
}
