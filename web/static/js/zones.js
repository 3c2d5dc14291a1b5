// The zone cards: level colour, density, occupancy against capacity, a
// sparkline of the last minutes and the forecast ("critical in 9 min"),
// how many sensors the density fuses, a possible outlier and a peak
// sensor. A zone without a live reading is "no data" with the age of its
// last reading (greyed and hatched), never a level.

import { h, fmtNum, fmtInt, fmtForecast, fmtTrend, fmtTime } from './dom.js';
import { sparkline } from './sparkline.js';
import { LEVELS } from './state.js';
import { zoneView, noDataText, OUTLIER_TEXT, OUTLIER_TITLE, NO_DATA } from './view.js';

export function renderZones(root, { state }, now = Date.now()) {
  const cards = state.zones.map((z) => zoneCard(z, state, now));
  root.replaceChildren(...cards);
}

function zoneCard(z, state, now) {
  const r = state.readings.get(z.id);
  const v = zoneView(r, now);
  const level = v.level;
  const persons = r ? (r.count ?? Math.round(r.density * z.areaM2)) : NaN;
  const occ = r ? (r.occupancy || (z.capacity ? persons / z.capacity : 0)) : 0;
  const fill = h('span', { class: 'occ-fill' });
  fill.style.width = `${Math.min(100, occ * 100).toFixed(1)}%`; // CSSOM, allowed under the CSP
  const forecast = v.live ? fmtForecast(r.forecast) : '';
  const label = v.noData ? `${z.name}: ${v.status}` : `${z.name}: ${level}${v.sensors ? `, ${v.sensors}` : ''}`;
  return h('article', {
    class: 'zone',
    dataset: { level, zone: z.id, timestamp: r?.timestamp ?? '', nodata: v.noData ? 'true' : 'false', sensors: r?.sensors ?? '' },
    'aria-label': label,
  },
  h('header', { class: 'zone-head' },
    h('h3', {}, z.name),
    h('span', { class: 'level-badge', dataset: { level } }, v.noData ? 'NO DATA' : level.toUpperCase())),
  v.noData ? h('p', { class: 'zone-nodata', ...ageAttrs(v.since) }, v.status) : null,
  h('div', { class: 'zone-density' },
    v.noData && r ? h('span', { class: 'last' }, 'last') : null,
    h('span', { class: 'value' }, r ? fmtNum(r.density) : '–'),
    h('span', { class: 'unit' }, 'p/m²'),
    v.outlier ? h('span', { class: 'outlier', title: OUTLIER_TITLE }, `⚑ ${OUTLIER_TEXT}`) : null,
    h('span', { class: 'trend', title: 'Smoothed density change per minute' }, v.live ? fmtTrend(r.trend) : '')),
  v.peak ? h('p', { class: 'zone-peak', dataset: { level: v.peakLevel }, title: 'The zone\'s highest live sensor reads a higher level than the fused density' }, `▲ ${v.peak}`) : null,
  h('div', { class: 'occupancy', title: 'Persons against licensed capacity' },
    h('span', { class: 'occ-bar', dataset: { over: occ >= 1 ? 'true' : 'false' } }, fill),
    h('span', { class: 'occ-text' }, occText(z, r, persons, occ))),
  sparkline(state.history.get(z.id), z.thresholds, state.historyMs),
  h('p', { class: 'zone-foot' },
    forecast ? h('span', { class: 'forecast', dataset: { level: r.forecast.level } }, `⚠ ${forecast}`) : h('span', { class: 'muted' }, z.kind),
    v.sensors ? h('span', { class: 'sensors', title: 'Live sensors the zone\'s density fuses' }, v.sensors) : null,
    h('time', { class: 'muted' }, r ? fmtTime(r.timestamp) : 'no data')));
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
    el.textContent = (el.dataset.agePrefix ?? '') + noDataText(Number(el.dataset.since), now);
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
  el.textContent = parts.join(' · ');
}
