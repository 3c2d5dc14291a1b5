import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeHistory, HistorySource } from '../static/js/history.js';
import { ApiError } from '../static/js/api.js';

test('normalizeHistory reads both answers: readings, raw points and minute aggregates', () => {
  assert.deepEqual(normalizeHistory([{ zoneId: 'a', timestamp: 2, density: 1.5, level: 'watch' }, { timestamp: 1, density: 1 }]).map((r) => r.timestamp), [1, 2]);
  assert.deepEqual(normalizeHistory({ resolution: 'raw', points: [{ timestamp: 5, density: 2, level: 'normal' }, { timestamp: 6, density: 0, noData: true }] }).map((r) => r.density), [2]);
  const m = normalizeHistory({ resolution: 'minute', points: [{ timestamp: 60000, density: { min: 1, max: 3, mean: 2 }, level: 'warning' }] });
  assert.deepEqual(m, [{ zoneId: undefined, timestamp: 60000, density: 2, level: 'warning', max: 3 }]);
});

function fakeApi(routes) {
  const calls = [];
  return {
    calls,
    get: async (url) => {
      calls.push(url);
      for (const [prefix, answer] of routes) if (url.startsWith(prefix)) return typeof answer === 'function' ? answer(url) : answer;
      throw new ApiError(404, { error: { code: 'not_found', message: 'no route' } });
    },
  };
}

test('the stored history when the engine answers 200, with from and to in ms, following next', async () => {
  const now = 1_800_000_000_000;
  const api = fakeApi([['/api/crowd-risk/zones/gate-a/history', (url) => {
    const from = Number(new URL(url, 'http://x').searchParams.get('from'));
    return from === now - 3600000
      ? { resolution: 'raw', points: [{ timestamp: from + 1, density: 1 }], truncated: true, next: from + 2 }
      : { resolution: 'raw', points: [{ timestamp: from, density: 2 }], truncated: false };
  }]]);
  const src = new HistorySource(api);
  const got = await src.load('gate-a', 60, now);
  assert.deepEqual(got.map((r) => r.density), [1, 2]);
  assert.equal(src.stored, true);
  assert.match(api.calls[0], new RegExp(`from=${now - 3600000}&to=${now}$`));
  assert.ok(!api.calls.some((c) => c.includes('/density/history')));
});

test('404 from the new endpoint: the old /density/history, and no more 404s after that', async () => {
  const api = fakeApi([['/api/crowd-risk/density/history', [{ zoneId: 'a', timestamp: 1, density: 0.5 }]]]);
  const src = new HistorySource(api);
  assert.deepEqual((await src.load('a', 15, 10 ** 12)).map((r) => r.density), [0.5]);
  assert.equal(src.stored, false);
  await src.load('b', 15, 10 ** 12);
  assert.deepEqual(api.calls.map((c) => c.split('?')[0]), [
    '/api/crowd-risk/zones/a/history', '/api/crowd-risk/density/history', '/api/crowd-risk/density/history']);
  assert.match(api.calls[1], /zoneId=a&minutes=15$/);
});

test('other errors of the new endpoint are not hidden', async () => {
  const api = { get: async () => { throw new ApiError(500, {}); } };
  await assert.rejects(new HistorySource(api).load('a', 15, 10 ** 12));
});
