import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionManager, createDashboardConnection, backoffDelay, withLastEventId } from '../static/js/connection.js';
import { fakeEnv, recordingErrors, FakeEventSource } from './fakes.js';

function manager(f, opts = {}) {
  const errors = recordingErrors();
  const m = new ConnectionManager({
    url: '/api/crowd-risk/stream?topics=density,alerts', topics: ['density', 'alerts'],
    policies: { density: 'poll', alerts: 'stop' }, pollUrl: '/api/crowd-risk/density',
    env: f.env, errorHandler: errors, ...opts,
  });
  const seen = [];
  m.subscribe((topic, state, info) => seen.push(`${topic}:${state}${info.mode !== 'stream' ? '/' + info.mode : ''}`));
  return { m, errors, seen };
}

test('state sequence: connecting, connected, error, reconnecting, connected', async () => {
  const f = fakeEnv();
  const { m, seen } = manager(f, { topics: ['density'], policies: { density: 'poll' } });
  assert.equal(m.state('density'), 'disconnected');
  m.start();
  f.last().open();
  f.last().fail();
  assert.equal(f.sources[0].closed, true, 'our own reconnect closes the failed EventSource');
  await f.timers.advance(1000);
  assert.equal(f.sources.length, 2);
  f.last().open();
  m.close();
  assert.deepEqual(seen, [
    'density:connecting', 'density:connected', 'density:error', 'density:reconnecting',
    'density:connected', 'density:disconnected',
  ]);
  assert.equal(f.timers.pending.length, 0, 'close leaves no timer behind');
  assert.equal(f.last().closed, true);
});

test('backoff delays 1, 2, 4, 8 s, then 30 s in the background after the fifth failure', async () => {
  const f = fakeEnv({ random: () => 0 });
  const { m } = manager(f);
  m.start();
  const delays = [];
  for (let i = 0; i < 8; i++) {
    f.last().fail(FakeEventSource.CLOSED); // a 503: native EventSource would never retry
    const retry = f.timers.pending.find((t) => t.ms !== 5000);
    delays.push(retry.ms);
    await f.timers.advance(retry.ms);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 30000, 30000, 30000, 30000]);
  assert.equal(f.sources.length, 9);
  assert.ok(f.sources.slice(0, -1).every((s) => s.closed), 'only one EventSource open at a time');
});

test('backoff without a cap on attempts doubles up to 30 s', () => {
  const d = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, {}, () => 0));
  assert.deepEqual(d, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('jitter stays within +10 % of the delay', () => {
  for (const n of [1, 2, 3, 4, 5, 6]) {
    const base = Math.min(1000 * 2 ** (n - 1), 30000);
    const lo = backoffDelay(n, {}, () => 0);
    const hi = backoffDelay(n, {}, () => 0.999999);
    assert.equal(lo, base);
    assert.ok(hi > base && hi < base * 1.1, `attempt ${n}: ${hi} within (${base}, ${base * 1.1})`);
  }
  const spread = new Set(Array.from({ length: 20 }, (_, i) => backoffDelay(1, {}, () => i / 20)));
  assert.ok(spread.size > 10, 'different random values give different delays');
});

test('density falls back to polling after the fifth failure and stops polling when the stream is back', async () => {
  const f = fakeEnv();
  const { m, seen } = manager(f);
  const polled = [];
  m.onMessage((msg, meta) => { if (meta.source === 'poll') polled.push(msg); });
  m.start();
  for (let i = 1; i <= 4; i++) {
    f.last().fail();
    assert.equal(m.polling, false, `no polling after ${i} failures`);
    await f.timers.advance(backoffDelay(i, {}, () => 0));
  }
  f.last().fail();
  assert.equal(m.polling, true, 'polling after the fifth failure');
  assert.equal(m.mode('density'), 'polling');
  assert.equal(m.state('density'), 'reconnecting');
  assert.equal(m.mode('alerts'), 'stopped');
  assert.equal(m.state('alerts'), 'error');
  await f.timers.advance(0);
  assert.equal(f.fetchCalls.length, 1, 'first poll at once');
  assert.equal(f.fetchCalls[0].url, '/api/crowd-risk/density');
  assert.deepEqual(polled[0], { type: 'density', data: { zoneId: 'z1', density: 1.5 } });
  await f.timers.advance(5000);
  await f.timers.advance(5000);
  assert.equal(f.fetchCalls.length, 3, 'a poll every 5 s');
  const before = f.sources.length;
  await f.timers.advance(30000 - 10000);
  assert.equal(f.sources.length, before + 1, 'the stream is retried in the background at 30 s');
  f.last().open();
  assert.equal(m.polling, false);
  assert.equal(m.state('density'), 'connected');
  assert.equal(m.state('alerts'), 'connected', 'the shared connection brings the alerts back too');
  const calls = f.fetchCalls.length;
  await f.timers.advance(60000);
  assert.equal(f.fetchCalls.length, calls, 'no polling once the stream is back');
  assert.ok(seen.includes('density:reconnecting/polling'));
  assert.ok(seen.includes('alerts:error/stopped'), 'subscribers learn that the alerts topic stopped: ' + seen.join(' '));
});

test('alert stream (separate) gives up after five failures, reports it, and retry() starts over', async () => {
  const f = fakeEnv();
  const errors = recordingErrors();
  const conn = createDashboardConnection({ separate: true, env: f.env, errorHandler: errors });
  conn.start();
  const alertsES = () => f.sources.filter((s) => s.url.startsWith('/api/crowd-risk/alert-stream'));
  assert.equal(alertsES().length, 1);
  for (let i = 1; i <= 5; i++) {
    alertsES().at(-1).fail();
    if (i < 5) {
      assert.equal(conn.alertConnectionState(), 'reconnecting');
      await f.timers.advance(backoffDelay(i, {}, () => 0));
    }
  }
  assert.equal(conn.alertConnectionState(), 'error');
  assert.equal(conn.mode('alerts'), 'stopped');
  assert.equal(conn.densityConnectionState(), 'connecting', 'the density stream is independent');
  await f.timers.advance(120000);
  assert.equal(alertsES().length, 5, 'no attempt after giving up');
  assert.ok(errors.calls.some((c) => c.category === 'sse-connection' && /gave up/.test(c.error.message)));
  conn.retry('alerts');
  assert.equal(conn.alertConnectionState(), 'connecting');
  assert.equal(alertsES().length, 6);
  alertsES().at(-1).open();
  assert.equal(conn.alertConnectionState(), 'connected');
  conn.close();
});

test('reconnects resume with lastEventId = the last id seen', async () => {
  const f = fakeEnv();
  const { m } = manager(f);
  m.start();
  assert.equal(f.last().url, '/api/crowd-risk/stream?topics=density,alerts');
  f.last().open();
  f.last().send({ type: 'connected', timestamp: 1 });
  f.last().send({ type: 'density', data: { zoneId: 'a' } }, '1764270000000-3');
  f.last().send({ type: 'alert', data: { id: 'x' } }, '1764270000001-0');
  f.last().fail();
  await f.timers.advance(1000);
  assert.equal(f.last().url, '/api/crowd-risk/stream?topics=density,alerts&lastEventId=1764270000001-0');
  assert.equal(withLastEventId('/a', '1-2'), '/a?lastEventId=1-2');
});

test('reset drops the named topics and the snapshot that follows is delivered', async () => {
  const f = fakeEnv();
  const { m } = manager(f);
  const resets = [];
  const msgs = [];
  m.onReset((topics, reason) => resets.push({ topics, reason }));
  m.onMessage((msg, meta) => msgs.push(`${msg.type}:${meta.topic ?? '-'}`));
  m.start();
  f.last().open();
  f.last().send({ type: 'reset', data: { topics: ['density'], reason: 'unknown id' } });
  f.last().send({ type: 'density', data: { zoneId: 'a' } });
  f.last().send({ type: 'emergency', data: null }, '5-0');
  assert.deepEqual(resets, [{ topics: ['density'], reason: 'unknown id' }]);
  assert.deepEqual(msgs, ['reset:-', 'density:density', 'emergency:alerts']);
  assert.equal(m.lastEventId, '5-0');
});

test('a message that is not JSON is reported as sse-parse and the stream stays up', () => {
  const f = fakeEnv();
  const { m, errors } = manager(f);
  const msgs = [];
  m.onMessage((msg) => msgs.push(msg));
  m.start();
  f.last().open();
  f.last().send('{"type":"density",');
  f.last().send('[1,2]');
  f.last().send({ type: 'density', data: {} });
  assert.equal(errors.calls.filter((c) => c.category === 'sse-parse').length, 2);
  assert.equal(errors.calls[0].context.event, '{"type":"density",');
  assert.equal(msgs.length, 1);
  assert.equal(m.state('density'), 'connected');
});

test('connection errors are reported as sse-connection with the attempt number', async () => {
  const f = fakeEnv();
  const { m, errors } = manager(f);
  m.start();
  f.last().fail();
  await f.timers.advance(1000);
  f.last().fail(FakeEventSource.CLOSED);
  const conn = errors.calls.filter((c) => c.category === 'sse-connection');
  assert.deepEqual(conn.map((c) => c.context.attempt), [1, 2]);
  assert.equal(conn[1].context.readyState, FakeEventSource.CLOSED);
});

test('events of a closed EventSource are ignored (no double connection)', async () => {
  const f = fakeEnv();
  const { m } = manager(f);
  m.start();
  const first = f.last();
  first.fail();
  first.onerror?.({}); // handlers were detached on close
  await f.timers.advance(1000);
  assert.equal(f.sources.length, 2);
  assert.equal(m.failures, 1);
});

test('the multiplexed default is one connection carrying both indicators', () => {
  const f = fakeEnv();
  const conn = createDashboardConnection({ env: f.env });
  const states = [];
  conn.subscribe((topic, state) => states.push(`${topic}:${state}`));
  conn.start();
  assert.equal(f.sources.length, 1);
  assert.equal(f.last().url, '/api/crowd-risk/stream?topics=density,alerts');
  f.last().open();
  assert.equal(conn.densityConnectionState(), 'connected');
  assert.equal(conn.alertConnectionState(), 'connected');
  assert.deepEqual(states, ['density:connecting', 'alerts:connecting', 'density:connected', 'alerts:connected']);
  conn.close();
});

test('polling failures are reported and polling keeps its 5 s rhythm', async () => {
  const f = fakeEnv({ fetch: async () => ({ ok: false, status: 503, json: async () => ({}) }) });
  const { m, errors } = manager(f, { maxAttempts: 1 });
  m.start();
  f.last().fail();
  await f.timers.advance(0);
  await f.timers.advance(5000);
  assert.equal(f.fetchCalls.length, 2);
  assert.ok(errors.calls.some((c) => c.context.polling === true && /503/.test(c.error.message)));
  m.close();
  assert.equal(f.timers.pending.length, 0);
});

test('after the server says when to come back, the next attempt waits exactly that long', async () => {
  const f = fakeEnv({ random: () => 0 });
  const { m } = manager(f);
  m.start();
  f.last().open();
  f.last().send({ type: 'reconnect', data: { retryMs: 3712, reason: 'server shutting down' } });
  f.last().fail();
  const retry = f.timers.pending.find((t) => t.ms !== 5000);
  assert.equal(retry.ms, 3712, 'the spread delay, not the 1 s backoff');
  await f.timers.advance(3712);
  f.last().fail();
  assert.equal(f.timers.pending.find((t) => t.ms !== 5000).ms, 2000, 'used once, then the backoff again');
});
