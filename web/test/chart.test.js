import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceStep, timeTicks, bands, chartModel } from '../static/js/chart.js';

const T = { watch: 0.9, warning: 1.6, critical: 2.4, emergency: 3.2 };
const utc = (t) => new Date(t).toISOString().slice(11, 16);

test('niceStep: 1, 2 or 5 × 10^n', () => {
  assert.equal(niceStep(4, 4), 1);
  assert.equal(niceStep(7, 4), 2);
  assert.equal(niceStep(0.9, 4), 0.5);
  assert.equal(niceStep(30, 4), 10);
});

test('time ticks on whole minutes: every 5 min over 15 min, every 15 min over an hour', () => {
  const end = Date.UTC(2026, 10, 30, 6, 32, 10);
  assert.deepEqual(timeTicks(end - 15 * 60000, end, utc).map((t) => t.label), ['06:20', '06:25', '06:30']);
  assert.deepEqual(timeTicks(end - 60 * 60000, end, utc).map((t) => t.label), ['05:45', '06:00', '06:15', '06:30']);
});

test('threshold bands: each level from its threshold to the next, cut at the top', () => {
  assert.deepEqual(bands(T, 3), [
    { level: 'normal', from: 0, to: 0.9 }, { level: 'watch', from: 0.9, to: 1.6 },
    { level: 'warning', from: 1.6, to: 2.4 }, { level: 'critical', from: 2.4, to: 3 },
  ]);
  assert.deepEqual(bands(T, 4).at(-1), { level: 'emergency', from: 3.2, to: 4 });
  assert.deepEqual(bands({ warning: 2 }, 3), [{ level: 'normal', from: 0, to: 2 }, { level: 'warning', from: 2, to: 3 }], 'missing thresholds are skipped');
});

test('chart scale: a calm zone still shows the warning band; a high one fits with room', () => {
  const now = 1_000_000_000_000;
  const calm = chartModel([{ t: now - 60000, v: 0.3 }, { t: now, v: 0.4 }], T, { windowMs: 15 * 60000, now });
  assert.ok(calm.top >= T.warning, `top ${calm.top}`);
  assert.ok(calm.bands.some((b) => b.level === 'warning'));
  const high = chartModel([{ t: now, v: 3.9 }], T, { windowMs: 15 * 60000, now });
  assert.ok(high.top >= 3.9 * 1.15 - 1e-9, `top ${high.top}`);
  // Bands stack from the bottom of the plot up, without gaps.
  for (let i = 1; i < high.bands.length; i++) assert.ok(Math.abs(high.bands[i].y1 - high.bands[i - 1].y0) < 1e-9);
});

test('chart x: the window ends now; points before it are left out; the last point is marked', () => {
  const now = 1_000_000_000_000;
  const m = chartModel([{ t: now - 30 * 60000, v: 1 }, { t: now - 10 * 60000, v: 1 }, { t: now, v: 2 }], T, { windowMs: 15 * 60000, now, width: 300 });
  assert.equal(m.line.split(' ').length, 2);
  assert.equal(m.last.x, 300 - m.margin.right);
  assert.equal(m.empty, false);
  assert.equal(chartModel([], T, { windowMs: 60000, now }).empty, true);
});
