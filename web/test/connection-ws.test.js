import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionManager, createDashboardConnection, transportFromLocation } from '../static/js/connection.js';
import { wsUrl } from '../static/js/ws-source.js';
import { fakeEnv, recordingErrors, flush, FakeWebSocket } from './fakes.js';

function wsEnv(search = '?transport=ws') {
  const f = fakeEnv();
  const sockets = [];
  f.env.WebSocket = class extends FakeWebSocket { constructor(url) { super(url, sockets); } };
  f.env.location = { href: `https://ops.example.org/admin/crowd-risk/monitor${search}`, pathname: '/admin/crowd-risk/monitor', search, assign() {} };
  return { ...f, sockets, ws: () => sockets[sockets.length - 1] };
}

function manager(f) {
  const errors = recordingErrors();
  const m = new ConnectionManager({
    url: '/api/crowd-risk/ws?topics=density,alerts', topics: ['density', 'alerts'], transport: 'ws',
    policies: { density: 'poll', alerts: 'stop' }, pollUrl: '/api/crowd-risk/density', env: f.env, errorHandler: errors,
  });
  const seen = [];
  const msgs = [];
  m.subscribe((topic, state) => seen.push(`${topic}:${state}`));
  m.onMessage((msg, meta) => msgs.push({ type: msg.type, id: meta.id, topic: meta.topic }));
  return { m, errors, seen, msgs };
}

test('wsUrl keeps the host and maps the scheme', () => {
  assert.equal(wsUrl('/api/crowd-risk/ws?topics=alerts', 'https://ops.example.org/x'), 'wss://ops.example.org/api/crowd-risk/ws?topics=alerts');
  assert.equal(wsUrl('/ws', 'http://127.0.0.1:8080/'), 'ws://127.0.0.1:8080/ws');
});

test('?transport=ws selects the WebSocket; SSE stays the default', () => {
  assert.equal(transportFromLocation({ search: '?transport=ws' }), 'ws');
  assert.equal(transportFromLocation({ search: '' }), 'sse');
  assert.equal(transportFromLocation(undefined), 'sse');
  const f = wsEnv();
  const conn = createDashboardConnection({ env: f.env });
  assert.equal(conn.manager('alerts').transport, 'ws');
  conn.start();
  assert.equal(f.ws().url, 'wss://ops.example.org/api/crowd-risk/ws?topics=density,alerts');
  assert.equal(f.sources.length, 0, 'no EventSource');
  conn.close();
  const g = wsEnv('');
  const sse = createDashboardConnection({ env: g.env });
  sse.start();
  assert.equal(g.sockets.length, 0);
  assert.equal(g.last().url, '/api/crowd-risk/stream?topics=density,alerts');
  sse.close();
});

test('events, snapshot, checkpoint and heartbeat: ids as an EventSource would report them', () => {
  const f = wsEnv();
  const { m, seen, msgs } = manager(f);
  m.start();
  f.ws().open();
  assert.deepEqual(seen, ['density:connecting', 'alerts:connecting', 'density:connected', 'alerts:connected']);
  f.ws().recv({ type: 'connected', timestamp: 1, topics: ['density', 'alerts'], resumed: false });
  f.ws().recv({ topic: 'density', type: 'density', data: { zoneId: 'z' } }); // snapshot: no id
  f.ws().recv({ id: '1764270000000-9', type: 'checkpoint' });
  f.ws().recv({ type: 'heartbeat', timestamp: 2 });
  f.ws().recv({ id: '1764270000001-0', topic: 'alerts', type: 'alert', data: { id: 'al_1' } });
  f.ws().recv({ topic: 'alerts', type: 'snapshot-limit', data: {} });
  assert.deepEqual(msgs, [
    { type: 'connected', id: '', topic: undefined },
    { type: 'density', id: '', topic: 'density' },
    { type: 'alert', id: '1764270000001-0', topic: 'alerts' },
    { type: 'snapshot-limit', id: '1764270000001-0', topic: undefined },
  ]);
  assert.equal(m.lastEventId, '1764270000001-0');
  m.close();
  assert.equal(f.ws().closedWith, 1000);
});

test('a dropped connection resumes with ?lastEventId= after the backoff, and a reset is passed on', async () => {
  const f = wsEnv();
  const { m, seen, errors } = manager(f);
  const resets = [];
  m.onReset((topics, reason) => resets.push([topics, reason]));
  m.start();
  f.ws().open();
  f.ws().recv({ id: '1764270000000-3', topic: 'alerts', type: 'alert', data: {} });
  f.ws().drop();
  assert.equal(m.state('alerts'), 'reconnecting');
  assert.equal(errors.calls.length, 1);
  await f.timers.advance(1000);
  assert.equal(f.sockets.length, 2);
  assert.equal(f.ws().url, 'wss://ops.example.org/api/crowd-risk/ws?topics=density,alerts&lastEventId=1764270000000-3');
  f.ws().open();
  f.ws().recv({ type: 'reset', data: { topics: ['alerts'], reason: 'last-event-id-older-than-history' } });
  assert.deepEqual(resets, [[['alerts'], 'last-event-id-older-than-history']]);
  assert.deepEqual(seen.slice(-2), ['density:connected', 'alerts:connected']);
  m.close();
});

test("the server's reconnect message sets when to come back", async () => {
  const f = wsEnv();
  const { m } = manager(f);
  m.start();
  f.ws().open();
  f.ws().recv({ type: 'reconnect', data: { retryMs: 2500, reason: 'server shutting down' } });
  f.ws().drop(1001);
  assert.deepEqual(f.timers.pending.map((t) => t.ms), [2500]);
  await f.timers.advance(2500);
  assert.equal(f.sockets.length, 2);
  m.close();
});

test('after five failed handshakes density polls and alerts stop, as on SSE', async () => {
  const f = wsEnv();
  const { m } = manager(f);
  m.start();
  for (let i = 0; i < 5; i++) {
    f.ws().drop(); // a refused handshake: onclose without onopen
    const retry = f.timers.pending.find((t) => t.ms !== 5000);
    if (retry) await f.timers.advance(retry.ms);
  }
  assert.equal(m.mode('density'), 'polling');
  assert.equal(m.mode('alerts'), 'stopped');
  m.close();
});

test('request() sends an acknowledgement and resolves with its reply, which is not an event', async () => {
  const f = wsEnv();
  const { m, msgs } = manager(f);
  m.start();
  await assert.rejects(m.request({ op: 'acknowledge', id: 'al_1' }), /not connected/);
  f.ws().open();
  const p = m.request({ op: 'acknowledge', id: 'al_1' });
  const sent = f.ws().sent[0];
  assert.equal(sent.op, 'acknowledge');
  assert.equal(sent.id, 'al_1');
  f.ws().recv({ type: 'reply', requestId: sent.requestId, ok: true, data: { id: 'al_1', status: 'acknowledged' } });
  const reply = await p;
  assert.equal(reply.ok, true);
  assert.equal(reply.data.status, 'acknowledged');
  assert.equal(msgs.length, 0);
  const lost = m.request({ op: 'acknowledge', id: 'al_2' });
  f.ws().drop();
  await assert.rejects(lost, /closed/);
  m.close();
  await flush();
});

test('request() has no way back over SSE', async () => {
  const f = fakeEnv();
  const m = new ConnectionManager({ url: '/api/crowd-risk/stream', topics: ['alerts'], env: f.env });
  m.start();
  f.last().open();
  await assert.rejects(m.request({ op: 'acknowledge', id: 'al_1' }), /no request channel on sse/);
  m.close();
});
