// The chart of a zone: density over the last 15 or 60 minutes against a
// time axis, on threshold bands (the level a density falls in, coloured and
// named), so that a slope reads against the levels. The model is pure
// (tested under Node); renderChart draws it as SVG.

import { h } from './dom.js';
import { LEVELS } from './state.js';

// niceStep: the tick step (1, 2 or 5 × 10^n) that gives about count ticks over span.
export function niceStep(span, count = 4) {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// timeTicks: tick times (ms) on whole minutes: every 5 min over 15 min,
// every 15 min over an hour; labels "HH:MM" in the given formatter.
export function timeTicks(start, end, fmt = defaultClock) {
  const span = end - start;
  const stepMin = span <= 20 * 60000 ? 5 : span <= 90 * 60000 ? 15 : 30;
  const step = stepMin * 60000;
  const out = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) out.push({ t, label: fmt(t) });
  return out;
}

function defaultClock(t) {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// bands: the levels' density ranges up to top, from the zone's thresholds
// ({watch, warning, critical, emergency} in p/m²; missing ones are skipped).
export function bands(thresholds, top) {
  const cuts = LEVELS.slice(1).map((l) => [l, Number(thresholds?.[l])]).filter(([, v]) => Number.isFinite(v) && v > 0);
  const out = [];
  let lo = 0;
  let level = 'normal';
  for (const [l, v] of cuts) {
    if (v <= lo) continue;
    out.push({ level, from: lo, to: Math.min(v, top) });
    lo = v;
    level = l;
    if (lo >= top) break;
  }
  if (lo < top) out.push({ level, from: lo, to: top });
  return out.filter((b) => b.to > b.from);
}

// chartModel lays out a chart of width × height (SVG user units, a margin
// for the axes inside): the density scale reaches the warning threshold at
// least (so a calm zone reads as calm) and the highest point with room.
export function chartModel(points, thresholds, { windowMs, now, width = 300, height = 120, fmt } = {}) {
  const m = { left: 30, right: 6, top: 6, bottom: 18 };
  const end = now;
  const start = end - windowMs;
  const shown = (points ?? []).filter((p) => p.t >= start - 60000 && p.t <= end + 60000);
  const maxV = Math.max(0, ...shown.map((p) => p.max ?? p.v));
  const floor = Number(thresholds?.warning) || Number(thresholds?.critical) || 1;
  const yStep = niceStep(Math.max(maxV * 1.15, floor * 1.1), 4);
  const top = Math.ceil(Math.max(maxV * 1.15, floor * 1.1) / yStep) * yStep;
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const x = (t) => m.left + ((t - start) / windowMs) * plotW;
  const y = (v) => m.top + plotH - (Math.max(0, Math.min(v, top)) / top) * plotH;
  const clampX = (t) => Math.max(m.left, Math.min(m.left + plotW, x(t)));
  const line = shown.map((p) => `${clampX(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
  const yTicks = [];
  for (let v = 0; v <= top + 1e-9; v += yStep) yTicks.push({ v: Number(v.toFixed(6)), y: y(v) });
  return {
    width, height, margin: m, top, start, end,
    bands: bands(thresholds, top).map((b) => ({ ...b, y0: y(b.to), y1: y(b.from) })),
    xTicks: timeTicks(start, end, fmt).map((tk) => ({ ...tk, x: x(tk.t) })),
    yTicks,
    line: line.join(' '),
    last: shown.length ? { x: clampX(shown[shown.length - 1].t), y: y(shown[shown.length - 1].v) } : null,
    empty: shown.length === 0,
  };
}

// renderChart draws a model as an SVG with a text alternative.
export function renderChart(model, label) {
  const { width, height, margin: m } = model;
  const svg = h('svg:svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  for (const b of model.bands) {
    svg.append(h('svg:rect', { class: 'chart-band', dataset: { level: b.level }, x: m.left, width: width - m.left - m.right, y: b.y0.toFixed(1), height: Math.max(0, b.y1 - b.y0).toFixed(1) }));
  }
  for (const tk of model.yTicks) {
    svg.append(h('svg:line', { class: 'chart-grid', x1: m.left, x2: width - m.right, y1: tk.y.toFixed(1), y2: tk.y.toFixed(1) }));
    svg.append(h('svg:text', { class: 'chart-tick', x: m.left - 4, y: (tk.y + 4).toFixed(1), 'text-anchor': 'end' }, String(tk.v)));
  }
  for (const tk of model.xTicks) {
    svg.append(h('svg:line', { class: 'chart-grid', x1: tk.x.toFixed(1), x2: tk.x.toFixed(1), y1: m.top, y2: height - m.bottom }));
    svg.append(h('svg:text', { class: 'chart-tick', x: tk.x.toFixed(1), y: height - 4, 'text-anchor': 'middle' }, tk.label));
  }
  if (model.line) svg.append(h('svg:polyline', { class: 'chart-line', points: model.line }));
  if (model.last) svg.append(h('svg:circle', { class: 'chart-dot', cx: model.last.x.toFixed(1), cy: model.last.y.toFixed(1), r: 2.5 }));
  if (model.empty) svg.append(h('svg:text', { class: 'chart-tick', x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no readings in this window'));
  return svg;
}
