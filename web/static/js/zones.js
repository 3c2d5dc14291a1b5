// The zone cards: level colour, density, occupancy against capacity, a
// sparkline of the last minutes and the forecast ("critical in 9 min").

import { h, fmtNum, fmtInt, fmtForecast, fmtTrend, fmtTime } from './dom.js';
import { sparkline } from './sparkline.js';
import { LEVELS } from './state.js';

export function renderZones(root, { state }) {
  const cards = state.zones.map((z) => zoneCard(z, state));
  root.replaceChildren(...cards);
}

function zoneCard(z, state) {
  const r = state.readings.get(z.id);
  const level = r?.level ?? 'unknown';
  const persons = r ? (r.count ?? Math.round(r.density * z.areaM2)) : NaN;
  const occ = r ? (r.occupancy || (z.capacity ? persons / z.capacity : 0)) : 0;
  const fill = h('span', { class: 'occ-fill' });
  fill.style.width = `${Math.min(100, occ * 100).toFixed(1)}%`; // CSSOM, allowed under the CSP
  const forecast = fmtForecast(r?.forecast);
  return h('article', { class: 'zone', dataset: { level, zone: z.id, timestamp: r?.timestamp ?? '' }, 'aria-label': `${z.name}: ${level}` },
    h('header', { class: 'zone-head' },
      h('h3', {}, z.name),
      h('span', { class: 'level-badge', dataset: { level } }, level.toUpperCase())),
    h('div', { class: 'zone-density' },
      h('span', { class: 'value' }, r ? fmtNum(r.density) : '–'),
      h('span', { class: 'unit' }, 'p/m²'),
      h('span', { class: 'trend', title: 'Smoothed density change per minute' }, r ? fmtTrend(r.trend) : '')),
    h('div', { class: 'occupancy', title: 'Persons against licensed capacity' },
      h('span', { class: 'occ-bar', dataset: { over: occ >= 1 ? 'true' : 'false' } }, fill),
      h('span', { class: 'occ-text' }, z.capacity ? `${fmtInt(persons)} / ${fmtInt(z.capacity)} (${Math.round(occ * 100)} %)` : `${fmtInt(persons)} persons`)),
    sparkline(state.history.get(z.id), z.thresholds, state.historyMs),
    h('p', { class: 'zone-foot' },
      forecast ? h('span', { class: 'forecast', dataset: { level: r.forecast.level } }, `⚠ ${forecast}`) : h('span', { class: 'muted' }, z.kind),
      h('time', { class: 'muted' }, r ? fmtTime(r.timestamp) : 'no data')));
}

export function renderSummary(el, state) {
  const counts = new Map();
  for (const r of state.readings.values()) counts.set(r.level, (counts.get(r.level) ?? 0) + 1);
  const parts = [`${state.zones.length} zones`];
  for (const l of LEVELS.slice(1).reverse()) if (counts.get(l)) parts.push(`${counts.get(l)} ${l}`);
  el.textContent = parts.join(' · ');
}
