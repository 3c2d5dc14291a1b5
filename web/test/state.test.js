import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DashboardState, Timeline } from '../static/js/state.js';
import { csrfToken, createApi, ApiError } from '../static/js/api.js';

test('readings: latest per zone, history at most one point per second, older readings ignored', () => {
  const s = new DashboardState({ historyMinutes: 1 });
  s.apply({ type: 'density', data: { zoneId: 'a', density: 1, timestamp: 1000, level: 'normal' } });
  s.apply({ type: 'density', data: { zoneId: 'a', density: 2, timestamp: 1500, level: 'normal' } });
  s.apply({ type: 'density', data: { zoneId: 'a', density: 3, timestamp: 2100, level: 'watch' } });
  assert.equal(s.apply({ type: 'density', data: { zoneId: 'a', density: 9, timestamp: 500 } }), null);
  assert.equal(s.readings.get('a').density, 3);
  assert.deepEqual(s.history.get('a'), [{ t: 1000, v: 2 }, { t: 2100, v: 3 }]);
  s.apply({ type: 'density', data: { zoneId: 'a', density: 4, timestamp: 70000 } });
  assert.deepEqual(s.history.get('a').map((p) => p.t), [70000], 'points older than the window are trimmed');
});

test('seeded history goes under the live points', () => {
  const s = new DashboardState();
  s.addReading({ zoneId: 'a', density: 5, timestamp: 10000 });
  s.seedHistory('a', [{ density: 1, timestamp: 1000 }, { density: 2, timestamp: 5000 }, { density: 4, timestamp: 9500 }]);
  assert.deepEqual(s.history.get('a'), [{ t: 1000, v: 1 }, { t: 5000, v: 2 }, { t: 10000, v: 5 }]);
});

test('alerts: latest copy per id wins, resolved ones leave, worst and newest first', () => {
  const s = new DashboardState();
  s.apply({ type: 'alert', data: { id: '1', level: 'watch', status: 'active', timestamp: 1, updatedAt: 1 } });
  s.apply({ type: 'alert', data: { id: '2', level: 'critical', status: 'active', timestamp: 2, updatedAt: 2 } });
  s.apply({ type: 'alert', data: { id: '3', level: 'critical', status: 'active', timestamp: 3, updatedAt: 3 } });
  s.apply({ type: 'alert', data: { id: '1', level: 'watch', status: 'active', timestamp: 1, updatedAt: 0 } });
  assert.deepEqual(s.openAlerts().map((a) => a.id), ['3', '2', '1']);
  s.apply({ type: 'alert', data: { id: '3', level: 'critical', status: 'resolved', timestamp: 3, updatedAt: 9 } });
  assert.deepEqual(s.openAlerts().map((a) => a.id), ['2', '1']);
});

test('reset drops only the named topics', () => {
  const s = new DashboardState();
  s.addReading({ zoneId: 'a', density: 1, timestamp: 1 });
  s.setAlert({ id: 'x', status: 'active', updatedAt: 1 });
  s.dropTopics(['density']);
  assert.equal(s.readings.size, 0);
  assert.equal(s.alerts.size, 1);
});

test('timeline: the snapshot does not repeat logged changes; new ones are added once', () => {
  const t = new Timeline();
  t.load([{ seq: 1, timestamp: 100, kind: 'alert', alertId: 'a1', level: 'warning', message: 'raised' }]);
  const snap = { type: 'alert', data: { id: 'a1', zoneId: 'z', level: 'warning', kind: 'density', status: 'active', updatedAt: 100, message: 'm' } };
  assert.equal(t.fromMessage(snap), null);
  const ack = { type: 'alert', data: { ...snap.data, status: 'acknowledged', acknowledgedBy: 'ann', acknowledgedAt: 200, updatedAt: 200 } };
  assert.equal(t.fromMessage(ack).kind, 'acknowledge');
  assert.equal(t.fromMessage(ack), null, 'the same change twice is one entry');
  assert.equal(t.entries.length, 2);
  assert.equal(t.entries[0].actor, 'ann');
  assert.equal(t.fromMessage({ type: 'emergency', data: null }, undefined, null), null, 'no emergency before: nothing ended');
  const e = { activatedAt: 300, reason: 'r', activatedBy: 'op' };
  assert.equal(t.fromMessage({ type: 'emergency', data: e }, undefined, null).kind, 'emergency');
  assert.equal(t.fromMessage({ type: 'emergency', data: e }, undefined, e), null, 'a snapshot repeat');
  assert.match(t.fromMessage({ type: 'emergency', data: null }, undefined, e, 400).message, /ended/);
});

test('api: CSRF header from the cookie on writes, errors carry the engine code and field', async () => {
  assert.equal(csrfToken('a=1; crowdrisk_csrf=abc%3D; b=2'), 'abc=');
  assert.equal(csrfToken(''), '');
  const calls = [];
  const api = createApi({
    cookies: () => 'crowdrisk_csrf=tok',
    fetch: async (url, init) => {
      calls.push({ url, init });
      if (url === '/bad') return { ok: false, status: 400, text: async () => '{"error":{"code":"invalid","message":"must be positive","field":"readings[3].density"}}' };
      return { ok: true, status: 200, text: async () => '{"ok":true}' };
    },
  });
  assert.deepEqual(await api.get('/x'), { ok: true });
  assert.equal(calls[0].init.headers['X-CSRF-Token'], undefined);
  await api.post('/y', { a: 1 });
  assert.equal(calls[1].init.headers['X-CSRF-Token'], 'tok');
  assert.equal(calls[1].init.body, '{"a":1}');
  await assert.rejects(api.post('/bad'), (err) => err instanceof ApiError && err.status === 400 && err.code === 'invalid' && err.field === 'readings[3].density');
});

test('timeline: an acknowledgement that also resolves the alert is two entries', () => {
  const t = new Timeline();
  t.load([]);
  t.fromMessage({ type: 'alert', data: { id: 'a', zoneId: 'z', level: 'critical', kind: 'test', status: 'active', updatedAt: 10, message: 'm' } });
  t.fromMessage({ type: 'alert', data: { id: 'a', zoneId: 'z', level: 'critical', kind: 'test', status: 'resolved', updatedAt: 20, acknowledgedBy: 'ann', acknowledgedAt: 20, resolvedAt: 20, message: 'm' } });
  assert.deepEqual(t.entries.map((e) => e.kind).sort(), ['acknowledge', 'alert', 'resolve']);
  assert.equal(t.entries.find((e) => e.kind === 'acknowledge').actor, 'ann');
});

test('a bounded snapshot says how many open alerts it left out, until a reset', () => {
  const s = new DashboardState();
  assert.equal(s.apply({ type: 'snapshot-limit', data: { omitted: 42, kept: 1000 } }), 'alert');
  assert.equal(s.alertsOmitted, 42);
  s.dropTopics(['density']);
  assert.equal(s.alertsOmitted, 42);
  s.dropTopics(['alerts']);
  assert.equal(s.alertsOmitted, 0);
});

test('timeline: the keys of listed changes stay bounded however many alerts pass', async () => {
  const { Timeline } = await import('../static/js/state.js');
  const tl = new Timeline({ max: 10 });
  for (let i = 0; i < 500; i++) {
    tl.fromMessage({ type: 'alert', data: { id: `a${i}`, zoneId: 'z', level: 'watch', kind: 'density', message: 'm', status: 'active', updatedAt: 1000 + i } });
  }
  assert.equal(tl.entries.length, 10);
  assert.ok(tl.keyCount <= 40, `keys ${tl.keyCount}`);
  // A listed change is still not listed twice.
  assert.equal(tl.fromMessage({ type: 'alert', data: { id: 'a499', zoneId: 'z', level: 'watch', kind: 'density', message: 'm', status: 'active', updatedAt: 1499 } }), null);
});
