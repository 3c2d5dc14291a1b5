// The zone cards: level (colour, shape and name), density, occupancy
// against capacity, a chart of the last 15 or 60 minutes on the zone's
// threshold bands, the forecast ("critical in 9 min"), how many sensors
// the density fuses, a possible outlier and a peak sensor. A zone without a
// live reading is "no data" with the age of its last reading (greyed and
// hatched), never a level. Each card is built once and updated in place.

import { h, fmtNum, fmtInt, fmtForecast, fmtTrend, fmtTime } from './dom.js';
import { LEVELS } from './state.js';
import { zoneView, noDataText, countersText, OUTLIER_TEXT, OUTLIER_TITLE, NO_DATA } from './view.js';
import { reconcile, placeChildren, setText, setAttr, setData, setHidden } from './keyed.js';
import { chartModel, renderChart } from './chart.js';

const cards = new WeakMap(); // root -> Map(zoneId -> entry)

export function renderZones(root, { state, windowMs }, now = Date.now()) {
  let cache = cards.get(root);
  if (!cache) { cache = new Map(); cards.set(root, cache); }
  const nodes = reconcile(cache, state.zones, (z) => z.id, createCard, (e, z) => updateCard(e, z, state, now, windowMs ?? state.historyMs));
  placeChildren(root, nodes);
}

function createCard(z) {
  const r = {};
  r.name = h('h3', {}, z.name);
  r.badge = h('span', { class: 'level-badge' });
  r.nodata = h('p', { class: 'zone-nodata' });
  r.last = h('span', { class: 'last' });
  r.value = h('span', { class: 'value' });
  r.outlier = h('span', { class: 'outlier', title: OUTLIER_TITLE });
  r.trend = h('span', { class: 'trend', title: 'Smoothed density change per minute' });
  r.peak = h('p', { class: 'zone-peak', title: 'The zone\'s highest live sensor reads a higher level than the fused density' });
  r.fill = h('span', { class: 'occ-fill' });
  r.bar = h('span', { class: 'occ-bar' }, r.fill);
  r.occ = h('span', { class: 'occ-text' });
  r.doors = h('p', { class: 'zone-doors', title: 'The door counters whose balance gives this zone\'s occupancy: crossings over the last minute' });
  r.chart = h('div', { class: 'zone-chart' });
  r.forecast = h('span', { class: 'forecast' });
  r.kind = h('span', { class: 'muted' }, z.kind);
  r.sensors = h('span', { class: 'sensors', title: 'Live sensors the zone\'s density fuses' });
  r.time = h('time', { class: 'muted' });
  r.node = h('article', { class: 'zone', dataset: { zone: z.id } },
    h('header', { class: 'zone-head' }, r.name, r.badge),
    r.nodata,
    h('div', { class: 'zone-density' }, r.last, r.value, h('span', { class: 'unit' }, 'p/m²'), r.outlier, r.trend),
    r.peak,
    h('div', { class: 'occupancy', title: 'Persons against licensed capacity' }, r.bar, r.occ),
    r.doors,
    r.chart,
    h('p', { class: 'zone-foot' }, r.forecast, r.kind, r.sensors, r.time));
  r.chartKey = '';
  return r;
}

function updateCard(r, z, state, now, windowMs) {
  const rd = state.readings.get(z.id);
  const v = zoneView(rd, now);
  const level = v.level;
  const persons = rd ? (rd.count ?? Math.round(rd.density * z.areaM2)) : NaN;
  const occ = rd ? (rd.occupancy || (z.capacity ? persons / z.capacity : 0)) : 0;
  setData(r.node, { level, timestamp: rd?.timestamp ?? '', nodata: v.noData ? 'true' : 'false', sensors: rd?.sensors ?? '' });
  setAttr(r.node, 'aria-label', v.noData ? `${z.name}: ${v.status}` : `${z.name}: ${level}${v.sensors ? `, ${v.sensors}` : ''}`);
  setText(r.name, z.name);
  setData(r.badge, { level });
  // The badge's shape comes from CSS (::before by data-level); its text is the name.
  setText(r.badge, level === NO_DATA ? 'NO DATA' : level.toUpperCase());
  setHidden(r.nodata, !v.noData);
  if (v.noData) {
    setData(r.nodata, { since: String(v.since || 0), agePrefix: '' });
    setText(r.nodata, v.status);
  } else setData(r.nodata, { since: null, agePrefix: null });
  setHidden(r.last, !(v.noData && rd));
  setText(r.last, v.noData && rd ? 'last' : ''); // hidden text is still textContent
  setText(r.value, rd ? fmtNum(rd.density) : '–');
  setHidden(r.outlier, !v.outlier);
  setText(r.outlier, v.outlier ? `⚑ ${OUTLIER_TEXT}` : '');
  setText(r.trend, v.live ? fmtTrend(rd.trend) : '');
  setHidden(r.peak, !v.peak);
  setData(r.peak, { level: v.peakLevel || null });
  setText(r.peak, v.peak ? `▲ ${v.peak}` : '');
  setData(r.bar, { over: occ >= 1 ? 'true' : 'false' });
  const width = `${Math.min(100, occ * 100).toFixed(1)}%`;
  if (r.fill.style.width !== width) r.fill.style.width = width; // CSSOM, allowed under the CSP
  setText(r.occ, occText(z, rd, persons, occ));
  const doors = countersText(rd?.counters);
  setHidden(r.doors, !doors);
  setData(r.doors, { fault: rd?.counters?.clamped > 0 ? 'true' : null });
  setText(r.doors, doors);
  const forecast = v.live ? fmtForecast(rd.forecast) : '';
  setHidden(r.forecast, !forecast);
  setHidden(r.kind, Boolean(forecast));
  setData(r.forecast, { level: forecast ? rd.forecast.level : null });
  setText(r.forecast, forecast ? `⚠ ${forecast}` : '');
  setHidden(r.sensors, !v.sensors);
  setText(r.sensors, v.sensors);
  setText(r.time, rd ? fmtTime(rd.timestamp) : 'no data');
  // The chart is redrawn every 2 s at most (the card's number is live;
  // 2 s is a pixel of a 15-minute axis), at once when its window changes
  // or its first points arrive: not for every reading.
  const pts = state.history.get(z.id) ?? [];
  const lastPt = pts[pts.length - 1];
  const key = `${pts.length > 0}|${windowMs}|${Math.floor(now / 2000)}|${level}`;
  // A hidden tab draws no chart it has drawn once: it catches up when shown.
  const hidden = globalThis.document?.hidden === true && r.chartKey !== '';
  if (key !== r.chartKey && !hidden) {
    r.chartKey = key;
    const model = chartModel(pts, z.thresholds, { windowMs, now: Math.max(now, lastPt?.t ?? 0), width: 280, height: 120 });
    const minutes = Math.round(windowMs / 60000);
    r.chart.replaceChildren(renderChart(model, `${z.name}: density over the last ${minutes} minutes${lastPt ? `, now ${fmtNum(lastPt.v)} p/m²` : ''}`));
  }
}

// occText: "1,035 / 1,260 (82 %)"; without any reading no made-up "0 %".
function occText(z, r, persons, occ) {
  if (!z.capacity) return `${fmtInt(persons)} persons`;
  return r ? `${fmtInt(persons)} / ${fmtInt(z.capacity)} (${Math.round(occ * 100)} %)` : `– / ${fmtInt(z.capacity)}`;
}

// ageAttrs marks an element whose text is the "no data" age, so that
// tickAges keeps it current between renders; prefix goes before it.
export function ageAttrs(since, prefix = '') {
  return { dataset: { since: String(since || 0), agePrefix: prefix } };
}

// tickAges rewrites every "no data · last reading 75 s ago" under root for
// now: the age must count up every second, even when no reading comes
// (which is exactly when it matters).
export function tickAges(root, now = Date.now()) {
  for (const el of root.querySelectorAll('[data-since]')) {
    const text = (el.dataset.agePrefix ?? '') + noDataText(Number(el.dataset.since), now);
    if (el.textContent !== text) el.textContent = text;
  }
}

export function renderSummary(el, state, now = Date.now()) {
  const counts = new Map();
  for (const z of state.zones) {
    const l = zoneView(state.readings.get(z.id), now).level;
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const parts = [`${state.zones.length} zones`];
  for (const l of LEVELS.slice(1).reverse()) if (counts.get(l)) parts.push(`${counts.get(l)} ${l}`);
  if (counts.get(NO_DATA)) parts.push(`${counts.get(NO_DATA)} no data`);
  setText(el, parts.join(' · '));
}
