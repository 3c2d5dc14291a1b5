import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorHandler, sanitize } from '../static/js/errors.js';
import { flush } from './fakes.js';

function handler(opts = {}) {
  const posts = [];
  const logged = [];
  let now = 1000;
  const h = new ErrorHandler({
    fetch: async (url, init) => { posts.push({ url, init, body: JSON.parse(init.body) }); return { ok: true }; },
    now: () => now,
    console: { error: (...a) => logged.push(a) },
    csrfToken: () => 'tok',
    ...opts,
  });
  return { h, posts, logged, advance: (ms) => { now += ms; } };
}

test('reports go to the console and to /client-errors with category, message and context', async () => {
  const { h, posts, logged } = handler();
  assert.equal(h.handleDataStreamError(new Error('boom'), 'sse-connection', { url: '/s', attempt: 2 }), true);
  await flush();
  assert.equal(logged.length, 1);
  assert.match(logged[0][0], /sse-connection.*boom/);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].url, '/api/crowd-risk/client-errors');
  assert.equal(posts[0].init.method, 'POST');
  assert.equal(posts[0].init.headers['X-CSRF-Token'], 'tok');
  assert.equal(posts[0].body.category, 'sse-connection');
  assert.equal(posts[0].body.message, 'boom');
  assert.equal(posts[0].body.context.url, '/s');
  assert.equal(posts[0].body.context.attempt, 2);
});

test('the same error is reported once per dedupe interval, and at most 5 a minute overall', async () => {
  const { h, posts, logged, advance } = handler();
  h.handleDataStreamError(new Error('same'), 'sse-parse');
  h.handleDataStreamError(new Error('same'), 'sse-parse');
  advance(10000);
  h.handleDataStreamError(new Error('same'), 'sse-parse');
  for (let i = 0; i < 10; i++) h.handleDataStreamError(new Error(`e${i}`), 'sse-connection');
  await flush();
  assert.equal(logged.length, 13, 'the console sees everything');
  assert.equal(posts.length, 5, 'the server sees at most 5 a minute');
  advance(60000);
  h.handleDataStreamError(new Error('later'), 'sse-connection');
  await flush();
  assert.equal(posts.length, 6);
  assert.equal(posts[5].body.context.suppressed, 7, 'the next report says how many were dropped since the last one');
});

test('a failing report is swallowed, not reported again', async () => {
  const { h, logged } = handler({ fetch: async () => { throw new Error('offline'); } });
  h.handleDataStreamError(new Error('x'), 'sse-connection');
  await flush();
  assert.equal(logged.length, 1);
});

test('sanitize keeps context small and flat', () => {
  const s = sanitize({ a: 'x'.repeat(2000), b: { deep: [1, 2] }, c: 3, d: undefined });
  assert.equal(s.a.length, 500);
  assert.equal(s.b, '{"deep":[1,2]}');
  assert.equal(s.c, 3);
  assert.ok(!('d' in s));
});
