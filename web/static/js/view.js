// What a zone and an alert say on screen, without the DOM: whether a zone
// has data, how old its last reading is, how many sensors its density
// fuses, a possible outlier, a peak sensor the fusion must not hide, and
// which sensor a sensor alert is about. Pure, so it is tested under Node.

import { fmtNum } from './dom.js';

// NO_DATA is the level shown for a zone without a live reading: never a
// level colour, least of all normal's green.
export const NO_DATA = 'nodata';

// fmtAge: "75 s", "4 min", "2 h 5 min", "3 d". Seconds up to two minutes,
// as a sensor timeout is counted in them.
export function fmtAge(ms) {
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

// hasLiveData: a reading the engine stands behind now. No reading at all
// (none since the page loaded, none in the snapshot), a reading the engine
// marked noData (every sensor silent) and one only known from the history
// (the snapshot has not said anything about the zone yet) are not.
export function hasLiveData(r) {
  return Boolean(r) && Number.isFinite(r.density) && r.noData !== true && r.fromHistory !== true;
}

// noDataText: "no data · last reading 75 s ago" (now and the reading's
// timestamp in ms), or "no data · no reading yet".
export function noDataText(timestamp, now) {
  if (!Number.isFinite(timestamp) || timestamp <= 0) return 'no data · no reading yet';
  return `no data · last reading ${fmtAge(now - timestamp)} ago`;
}

// sensorsText: "3 sensors", "1 sensor", "no live sensor" (noData); empty
// when the engine does not say (an older engine, which sends 0 or nothing).
export function sensorsText(r) {
  if (!r || !Number.isFinite(r.sensors)) return '';
  if (r.noData === true) return 'no live sensor';
  if (r.sensors <= 0) return '';
  return r.sensors === 1 ? '1 sensor' : `${r.sensors} sensors`;
}

// peakText: "1 sensor (cam-3) reads 4.8 p/m² — warning", so one high
// sensor is never hidden behind calmer neighbours; empty without a peak.
export function peakText(peak) {
  if (!peak || typeof peak.sensorId !== 'string' || !Number.isFinite(peak.density)) return '';
  const who = peak.sensorId ? `1 sensor (${peak.sensorId})` : '1 sensor';
  return `${who} reads ${fmtNum(peak.density, 1)} p/m²${peak.level ? ` — ${peak.level}` : ''}`;
}

// countersText: what a zone's door counters say, "3 doors · in 26/min ·
// out 5/min", and a counter fault first ("counted 4 more out than in") so
// an operator does not trust a balance that was clamped at zero; empty for a
// zone without doors.
export function countersText(c) {
  if (!c || typeof c !== 'object' || !Number.isFinite(c.persons)) return '';
  const doors = Number.isFinite(c.doors) ? (c.doors === 1 ? '1 door' : `${c.doors} doors`) : '';
  const parts = [doors || 'doors'];
  if (Number.isFinite(c.inPerMin)) parts.push(`in ${Math.round(c.inPerMin)}/min`);
  if (Number.isFinite(c.outPerMin)) parts.push(`out ${Math.round(c.outPerMin)}/min`);
  const text = parts.join(' · ');
  return c.clamped > 0 ? `⚠ counted ${Math.round(c.clamped)} more out than in · ${text}` : text;
}

export const OUTLIER_TEXT = 'possible outlier';
export const OUTLIER_TITLE = 'A lone spike: the smoothing set this raw value aside. It is shown and raises nothing.';

// zoneView is everything a card, a map shape or a list line needs to say
// about a zone whose latest reading is r (or none) at time now (ms).
export function zoneView(r, now = Date.now()) {
  const live = hasLiveData(r);
  const timestamp = Number.isFinite(r?.timestamp) ? r.timestamp : 0;
  return {
    live,
    noData: !live,
    level: live ? (r.level ?? NO_DATA) : NO_DATA,
    // The age of the last reading, only told when there is no live data.
    since: live ? 0 : timestamp,
    status: live ? '' : noDataText(timestamp, now),
    // Only the engine can say no sensor is live; a reading known only from
    // the history says nothing about the sensors now.
    sensors: live || r?.noData === true ? sensorsText(r) : '',
    outlier: live && r.outlier === true,
    peak: live ? peakText(r.peak) : '',
    peakLevel: live && r.peak ? (r.peak.level ?? '') : '',
  };
}

// alertSensor: the sensor an alert is about ("" for the other kinds).
export function alertSensor(a) {
  return typeof a?.sensorId === 'string' ? a.sensorId : '';
}

// alertMeta: the small line under an alert's message. A sensor alert has
// no density of its own to show (the sensor is silent): it names the
// sensor instead.
export function alertMeta(a) {
  const parts = [];
  const sensor = alertSensor(a);
  if (a?.kind === 'sensor') parts.push(sensor ? `sensor ${sensor}` : 'sensor');
  else {
    parts.push(`${fmtNum(a?.density)} p/m²`);
    if (sensor) parts.push(`sensor ${sensor}`);
  }
  if (a?.notifications > 1) parts.push(`notified ${a.notifications}×`);
  return parts.join(' · ');
}

// Levels are told by text and shape as well as colour: each has its own
// glyph (a circle for normal up to a cross for emergency, an open circle
// for no data), beside its name wherever a level is shown.
export const LEVEL_SHAPE = Object.freeze({
  normal: '●', watch: '◆', warning: '▲', critical: '■', emergency: '✖', [NO_DATA]: '○',
});

// levelLabel: "▲ WARNING", "○ NO DATA".
export function levelLabel(level) {
  const name = level === NO_DATA ? 'NO DATA' : String(level ?? '').toUpperCase();
  return `${LEVEL_SHAPE[level] ?? '?'} ${name}`;
}
