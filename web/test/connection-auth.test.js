import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionManager } from '../static/js/connection.js';
import { fakeEnv, recordingErrors, flush } from './fakes.js';

// The server ends a stream whose token expired or whose session signed
// out with a reconnect message saying reauth: true, then closes it.
function setup(meStatus) {
  const f = fakeEnv({ fetch: async (url) => ({ ok: meStatus === 200, status: meStatus, json: async () => ({}) }) });
  const assigned = [];
  f.env.location = { pathname: '/admin/crowd-risk/monitor', search: '?streams=separate', assign: (u) => assigned.push(u) };
  const errors = recordingErrors();
  const m = new ConnectionManager({ url: '/api/crowd-risk/alert-stream', topics: ['alerts'], env: f.env, errorHandler: errors });
  m.start();
  f.last().open();
  f.last().send({ type: 'alert', data: {} }, '1764270000000-7');
  f.last().send({ type: 'reconnect', data: { retryMs: 800, reason: 'token expired', reauth: true } });
  f.last().fail();
  return { f, m, errors, assigned };
}

test('credentials ended, session gone: go to the login page and stop', async () => {
  const { f, m, errors, assigned } = setup(401);
  await flush();
  assert.deepEqual(f.fetchCalls.map((c) => c.url), ['/api/auth/me']);
  assert.deepEqual(assigned, ['/admin/crowd-risk/login?next=%2Fadmin%2Fcrowd-risk%2Fmonitor%3Fstreams%3Dseparate']);
  assert.equal(m.state('alerts'), 'disconnected');
  assert.equal(f.timers.pending.length, 0, 'no reconnect is scheduled');
  assert.equal(errors.calls.length, 0, 'not reported as a stream failure');
});

test('credentials ended, still signed in: reconnect after retryMs with the last id', async () => {
  const { f, m, assigned } = setup(200);
  await flush();
  assert.equal(assigned.length, 0);
  assert.equal(m.state('alerts'), 'reconnecting');
  assert.equal(m.failures, 0, 'not counted as a failure');
  await f.timers.advance(800);
  assert.equal(f.sources.length, 2);
  assert.equal(f.last().url, '/api/crowd-risk/alert-stream?lastEventId=1764270000000-7');
});

test('a shutdown goodbye does not ask who we are', async () => {
  const f = fakeEnv();
  const m = new ConnectionManager({ url: '/s', topics: ['alerts'], env: f.env });
  m.start();
  f.last().open();
  f.last().send({ type: 'reconnect', data: { retryMs: 600, reason: 'server shutting down' } });
  f.last().fail();
  await f.timers.advance(600);
  assert.equal(f.fetchCalls.length, 0);
  assert.equal(f.sources.length, 2);
});
