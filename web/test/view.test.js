import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtAge, hasLiveData, noDataText, sensorsText, peakText, countersText, zoneView, alertMeta, alertSensor, NO_DATA } from '../static/js/view.js';
import { DashboardState } from '../static/js/state.js';

const NOW = 1_764_270_000_000;

test('ages: seconds up to two minutes, then minutes, hours, days', () => {
  assert.equal(fmtAge(0), '0 s');
  assert.equal(fmtAge(-5000), '0 s', 'a clock a little ahead is not a negative age');
  assert.equal(fmtAge(75_400), '75 s');
  assert.equal(fmtAge(119_999), '119 s');
  assert.equal(fmtAge(120_000), '2 min');
  assert.equal(fmtAge(59 * 60_000), '59 min');
  assert.equal(fmtAge(125 * 60_000), '2 h 5 min');
  assert.equal(fmtAge(3 * 86_400_000), '3 d');
  assert.equal(fmtAge(NaN), '');
  assert.equal(noDataText(NOW - 75_000, NOW), 'no data · last reading 75 s ago');
  assert.equal(noDataText(0, NOW), 'no data · no reading yet');
  assert.equal(noDataText(undefined, NOW), 'no data · no reading yet');
});

test('no data: no reading, a noData reading and a history-only reading are never a level', () => {
  const live = { zoneId: 'a', density: 1.2, level: 'normal', sensors: 3, timestamp: NOW - 1000 };
  assert.equal(hasLiveData(live), true);
  assert.equal(hasLiveData(undefined), false);
  assert.equal(hasLiveData({ ...live, noData: true, sensors: 0 }), false);
  assert.equal(hasLiveData({ ...live, fromHistory: true }), false);

  const none = zoneView(undefined, NOW);
  assert.equal(none.level, NO_DATA, 'no reading at all since the page loaded: no data, not normal');
  assert.equal(none.status, 'no data · no reading yet');
  assert.equal(none.sensors, '');

  const silent = zoneView({ ...live, noData: true, sensors: 0, timestamp: NOW - 75_000, outlier: true, peak: { sensorId: 'cam-3', density: 4.8, level: 'warning' } }, NOW);
  assert.equal(silent.level, NO_DATA, 'a silent zone never shows its stale normal');
  assert.equal(silent.noData, true);
  assert.equal(silent.since, NOW - 75_000);
  assert.equal(silent.status, 'no data · last reading 75 s ago');
  assert.equal(silent.sensors, 'no live sensor');
  assert.equal(silent.outlier, false, 'nothing live to flag');
  assert.equal(silent.peak, '');

  const seeded = zoneView({ ...live, fromHistory: true }, NOW);
  assert.equal(seeded.level, NO_DATA);
  assert.equal(seeded.sensors, '', 'the history says nothing about the sensors now');

  const ok = zoneView(live, NOW);
  assert.deepEqual([ok.level, ok.noData, ok.status, ok.sensors], ['normal', false, '', '3 sensors']);
});

test('sensor counts', () => {
  assert.equal(sensorsText({ sensors: 3 }), '3 sensors');
  assert.equal(sensorsText({ sensors: 1 }), '1 sensor');
  assert.equal(sensorsText({ sensors: 0 }), '', 'a live reading of an engine that does not count sensors');
  assert.equal(sensorsText({ sensors: 0, noData: true }), 'no live sensor');
  assert.equal(sensorsText({}), '', 'an engine that does not count sensors: say nothing');
  assert.equal(sensorsText(null), '');
});

test('outlier and peak: shown, and one high sensor is never hidden', () => {
  const r = { density: 5.9, smoothed: 1.1, level: 'normal', sensors: 3, timestamp: NOW, outlier: true, peak: { sensorId: 'cam-3', density: 4.8, level: 'warning' } };
  const v = zoneView(r, NOW);
  assert.equal(v.outlier, true);
  assert.equal(v.peak, '1 sensor (cam-3) reads 4.8 p/m² — warning');
  assert.equal(v.peakLevel, 'warning');
  assert.equal(v.level, 'normal');
  assert.equal(peakText(null), '');
  assert.equal(peakText({ sensorId: 'x' }), '', 'no density: nothing to say');
  assert.equal(peakText({ sensorId: '', density: 2.345, level: 'watch' }), '1 sensor reads 2.3 p/m² — watch');
  assert.equal(zoneView({ ...r, outlier: undefined, peak: undefined }, NOW).peak, '');
});

test('sensor alerts name their sensor instead of a density', () => {
  const a = { id: 'al_1', zoneId: 'fan-zone', kind: 'sensor', level: 'watch', sensorId: 'cam-2', density: 0, message: 'sensor cam-2 of zone Fan zone silent for 60 s' };
  assert.equal(alertSensor(a), 'cam-2');
  assert.equal(alertMeta(a), 'sensor cam-2');
  assert.equal(alertMeta({ ...a, notifications: 3 }), 'sensor cam-2 · notified 3×');
  assert.equal(alertMeta({ kind: 'density', density: 2.5 }), '2.50 p/m²');
  assert.equal(alertSensor({ kind: 'density' }), '');
});

test('state: a history-only reading is flagged, and any engine reading replaces it', () => {
  const s = new DashboardState();
  s.seedHistory('a', [{ zoneId: 'a', density: 1, level: 'normal', timestamp: 5000 }]);
  assert.equal(s.readings.get('a').fromHistory, true);
  assert.equal(zoneView(s.readings.get('a'), 6000).level, NO_DATA);
  // The snapshot's reading, even one a clock step older, is what the zone is now.
  assert.equal(s.apply({ type: 'density', data: { zoneId: 'a', density: 1.1, level: 'watch', timestamp: 4000, sensors: 2 } }), 'density');
  assert.equal(zoneView(s.readings.get('a'), 6000).level, 'watch');
  // A noData event carries the last values at their own time: it replaces them.
  assert.equal(s.apply({ type: 'density', data: { zoneId: 'a', density: 1.1, level: 'watch', timestamp: 4000, sensors: 0, noData: true } }), 'density');
  assert.equal(zoneView(s.readings.get('a'), 64000).status, 'no data · last reading 60 s ago');
  // The next real reading clears it.
  s.apply({ type: 'density', data: { zoneId: 'a', density: 1.2, level: 'watch', timestamp: 70000, sensors: 1 } });
  assert.equal(zoneView(s.readings.get('a'), 70500).level, 'watch');
});

test('ticking ages: every marked element counts up without a message', async () => {
  const { tickAges, ageAttrs } = await import('../static/js/zones.js');
  const el = { dataset: { ...ageAttrs(NOW - 75_000, 'Fan zone: ').dataset }, textContent: '' };
  const empty = { dataset: { ...ageAttrs(0).dataset }, textContent: '' };
  const root = { querySelectorAll: (sel) => (sel === '[data-since]' ? [el, empty] : []) };
  tickAges(root, NOW);
  assert.equal(el.textContent, 'Fan zone: no data · last reading 75 s ago');
  tickAges(root, NOW + 1000);
  assert.equal(el.textContent, 'Fan zone: no data · last reading 76 s ago');
  assert.equal(empty.textContent, 'no data · no reading yet');
});

test('door counters: doors and the last minute\'s crossings, a clamped balance said first', () => {
  assert.equal(countersText(undefined), '');
  assert.equal(countersText({}), '', 'no balance: nothing to say');
  assert.equal(countersText({ persons: 38, inPerMin: 26, outPerMin: 5, doors: 3 }), '3 doors · in 26/min · out 5/min');
  assert.equal(countersText({ persons: 9, inPerMin: 12.4, outPerMin: 3, doors: 1 }), '1 door · in 12/min · out 3/min');
  assert.equal(countersText({ persons: 0, doors: 2, inPerMin: 0, outPerMin: 7, clamped: 4 }), '⚠ counted 4 more out than in · 2 doors · in 0/min · out 7/min');
  assert.equal(countersText({ persons: 12 }), 'doors', 'a balance whose doors are all silent still says where it comes from');
});
