// ?transport=ws shared across tabs: one WebSocket per browser, held by the
// SharedWorker or the Web Locks leader, and acknowledgements over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDashboardConnection, holderLocation } from '../static/js/connection.js';
import { StreamHub, SharedStreamClient, lockStream } from '../static/js/shared-stream.js';
import { acknowledgeAlert, replyError } from '../static/js/ack.js';
import { ApiError } from '../static/js/api.js';
import { fakeEnv, flush, FakeLocks, FakeChannels, FakeWebSocket, FakeTimers } from './fakes.js';

const WORKER_HREF = 'http://127.0.0.1:38679/static/js/stream-worker.js';

function wsEnv(location = holderLocation(() => {}, WORKER_HREF)) {
  const f = fakeEnv();
  const sockets = [];
  f.env.WebSocket = class extends FakeWebSocket { constructor(url) { super(url, sockets); } };
  f.env.location = location;
  return { ...f, sockets, ws: () => sockets[sockets.length - 1] };
}

// A SharedWorker's hub over a WebSocket connection and n tabs.
function wsWorker(n, f = wsEnv()) {
  const clients = new Map();
  const send = (env) => {
    const copy = structuredClone(env);
    for (const [id, c] of clients) if (env.to === undefined || env.to === id) c.receive(copy);
  };
  const hub = new StreamHub({
    send,
    create: (h) => createDashboardConnection({ base: '/api/crowd-risk', transport: 'ws', env: f.env, errorHandler: h.errorHandler() }),
  });
  const timers = new FakeTimers();
  const tabs = [];
  for (let i = 0; i < n; i++) {
    const id = `tab${i}`;
    const c = new SharedStreamClient({ id, timers, post: (env) => { hub.start(); hub.handle(structuredClone(env)); } });
    clients.set(id, c);
    const ids = [];
    c.onMessage((msg, meta) => { if (meta.id) ids.push(meta.id); });
    c.start();
    tabs.push({ c, ids });
  }
  return { hub, tabs, f, timers };
}

test('the shared worker opens one WebSocket for every tab, to the page origin (not ws://localhost)', () => {
  const w = wsWorker(5);
  assert.equal(w.f.sockets.length, 1, 'one WebSocket for five tabs');
  assert.equal(w.f.ws().url, 'ws://127.0.0.1:38679/api/crowd-risk/ws?topics=density,alerts');
  assert.equal(w.f.sources.length, 0, 'no EventSource');
  w.f.ws().open();
  w.f.ws().recv({ id: '7-0', topic: 'alerts', type: 'alert', data: { id: 'al_1', status: 'active' } });
  for (const { c, ids } of w.tabs) {
    assert.equal(c.state('alerts'), 'connected');
    assert.deepEqual(ids, ['7-0']);
  }
});

test('a holder env without href resolves the WebSocket against the global location', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
  Object.defineProperty(globalThis, 'location', { value: { href: WORKER_HREF }, configurable: true });
  try {
    const f = wsEnv({ pathname: '', search: '', assign() {} }); // what the worker used to pass
    const conn = createDashboardConnection({ base: '/api/crowd-risk', transport: 'ws', env: f.env });
    conn.start();
    assert.equal(f.ws().url, 'ws://127.0.0.1:38679/api/crowd-risk/ws?topics=density,alerts');
    conn.close();
  } finally {
    if (saved) Object.defineProperty(globalThis, 'location', saved);
    else delete globalThis.location;
  }
});

test('holderLocation keeps the href, names no page and tells the tabs instead of navigating', () => {
  let told = 0;
  const loc = holderLocation(() => told++, WORKER_HREF);
  assert.equal(loc.href, WORKER_HREF);
  assert.equal(loc.pathname + loc.search, '');
  loc.assign('/admin/crowd-risk/login');
  assert.equal(told, 1);
});

test("a tab's request goes over the shared WebSocket and only that tab gets the reply", async () => {
  const w = wsWorker(3);
  w.f.ws().open();
  const p = w.tabs[2].c.request({ op: 'acknowledge', id: 'al_1' });
  await flush();
  const sent = w.f.ws().sent;
  assert.equal(sent.length, 1);
  assert.deepEqual(Object.keys(sent[0]).sort(), ['id', 'op', 'requestId'], 'only the fields the server knows');
  assert.equal(sent[0].op, 'acknowledge');
  assert.equal(sent[0].id, 'al_1');
  w.f.ws().recv({ type: 'reply', requestId: sent[0].requestId, ok: true, data: { id: 'al_1', status: 'acknowledged' } });
  const reply = await p;
  assert.equal(reply.ok, true);
  assert.equal(reply.data.status, 'acknowledged');
  for (const { ids } of w.tabs) assert.deepEqual(ids, [], 'a reply is not an event');
});

test('a request while the shared socket is not open, or over SSE, is refused at once (the page POSTs)', async () => {
  const w = wsWorker(2);
  await assert.rejects(w.tabs[1].c.request({ op: 'acknowledge', id: 'al_1' }), /not connected/);
  const f = fakeEnv();
  const sse = new StreamHub({ send: (env) => c.receive(structuredClone(env)), create: (h) => createDashboardConnection({ base: '/api/crowd-risk', transport: 'sse', env: f.env, errorHandler: h.errorHandler() }) });
  const c = new SharedStreamClient({ id: 't', post: (env) => { sse.start(); sse.handle(structuredClone(env)); } });
  c.start();
  f.last().open();
  await assert.rejects(c.request({ op: 'acknowledge', id: 'al_1' }), /no request channel on sse/);
});

test('a request nobody answers (no holder during a handover) gives up after its timeout', async () => {
  const timers = new FakeTimers();
  const c = new SharedStreamClient({ id: 't', timers, post: () => {} });
  c.start();
  let err = null;
  c.request({ op: 'acknowledge', id: 'al_1' }, { timeoutMs: 3000 }).catch((e) => { err = e; });
  await timers.advance(2999);
  assert.equal(err, null);
  await timers.advance(1);
  assert.match(String(err), /no answer/);
  const p = c.request({ op: 'acknowledge', id: 'al_2' });
  c.close();
  await assert.rejects(p, /closed/);
});

test('?share=locks over WebSocket: one socket in the leader; a follower acknowledges through it', async () => {
  const locks = new FakeLocks();
  const channels = new FakeChannels();
  const tabs = [];
  for (let i = 0; i < 3; i++) {
    const f = wsEnv(holderLocation(() => {}, 'https://ops.example.org/admin/crowd-risk/monitor?transport=ws'));
    const c = lockStream({
      id: `t${i}`, key: 'k', locks, channel: channels.open('crowdrisk-stream:k'),
      create: (h) => createDashboardConnection({ base: '/api/crowd-risk', transport: 'ws', env: f.env, errorHandler: h.errorHandler() }),
    });
    tabs.push({ c, f });
  }
  tabs.forEach((t) => t.c.start());
  await flush();
  assert.equal(tabs.reduce((s, t) => s + t.f.sockets.length, 0), 1, 'one WebSocket for three tabs');
  const ws = tabs[0].f.ws();
  assert.equal(ws.url, 'wss://ops.example.org/api/crowd-risk/ws?topics=density,alerts');
  ws.open();
  ws.recv({ id: '9-0', topic: 'alerts', type: 'alert', data: { id: 'al_1', status: 'active' } });
  await flush();
  const p = tabs[2].c.request({ op: 'acknowledge', id: 'al_1' });
  await flush();
  assert.equal(ws.sent.length, 1);
  ws.recv({ type: 'reply', requestId: ws.sent[0].requestId, ok: false, error: { code: 'forbidden', message: 'viewer' } });
  const reply = await p;
  assert.equal(reply.ok, false);
  assert.equal(reply.error.code, 'forbidden');
  // The leader's own request is answered locally.
  const own = tabs[0].c.request({ op: 'acknowledge', id: 'al_1' });
  await flush();
  ws.recv({ type: 'reply', requestId: ws.sent[1].requestId, ok: true, data: { id: 'al_1' } });
  assert.equal((await own).ok, true);
  // The leader leaves: the next tab resumes the WebSocket from the last id.
  tabs[0].c.close();
  await flush();
  assert.equal(ws.closedWith, 1000);
  assert.match(tabs[1].f.ws().url, /^wss:\/\/ops\.example\.org\/api\/crowd-risk\/ws\?topics=density,alerts&lastEventId=9-0$/);
});

// acknowledgeAlert: the Acknowledge button's choice of channel.
function fakes({ reply, rejects } = {}) {
  const requests = [];
  const posts = [];
  const conn = {
    request: async (m) => { requests.push(m); if (rejects) throw new Error(rejects); return reply; },
  };
  const api = { post: async (path) => { posts.push(path); return { id: 'al_1', status: 'acknowledged', via: 'http' }; } };
  return { conn, api, requests, posts };
}

test('acknowledge over the WebSocket: the reply is the alert, no POST', async () => {
  const f = fakes({ reply: { type: 'reply', ok: true, data: { id: 'al_1', status: 'acknowledged' } } });
  const r = await acknowledgeAlert({ id: 'al_1', conn: f.conn, api: f.api, transport: 'ws' });
  assert.equal(r.via, 'ws');
  assert.equal(r.alert.status, 'acknowledged');
  assert.deepEqual(f.requests, [{ op: 'acknowledge', id: 'al_1' }]);
  assert.deepEqual(f.posts, []);
});

test('acknowledge falls back to the POST when the socket cannot take it', async () => {
  for (const why of ['not connected', 'no answer from the shared connection', 'connection closed (1006)']) {
    const f = fakes({ rejects: why });
    const r = await acknowledgeAlert({ id: 'al/1', conn: f.conn, api: f.api, transport: 'ws' });
    assert.equal(r.via, 'http', why);
    assert.deepEqual(f.posts, ['/api/crowd-risk/alerts/al%2F1/acknowledge']);
  }
  for (const code of ['rate_limited', 'unavailable']) {
    const f = fakes({ reply: { ok: false, error: { code, message: 'not done' } } });
    assert.equal((await acknowledgeAlert({ id: 'al_1', conn: f.conn, api: f.api, transport: 'ws' })).via, 'http', code);
  }
});

test("the server's refusal over the WebSocket is the page's error, as over HTTP (no second try)", async () => {
  const f = fakes({ reply: { ok: false, error: { code: 'not_found', message: 'no open alert al_9', field: 'id' } } });
  await assert.rejects(acknowledgeAlert({ id: 'al_9', conn: f.conn, api: f.api, transport: 'ws' }), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');
    assert.equal(err.field, 'id');
    assert.equal(err.message, 'no open alert al_9');
    return true;
  });
  assert.deepEqual(f.posts, []);
  assert.equal(replyError(undefined).status, 500);
});

test('over SSE the acknowledgement is a POST, whatever the connection offers', async () => {
  const f = fakes({ reply: { ok: true, data: {} } });
  const r = await acknowledgeAlert({ id: 'al_1', conn: f.conn, api: f.api, transport: 'sse' });
  assert.equal(r.via, 'http');
  assert.deepEqual(f.requests, []);
  assert.equal((await acknowledgeAlert({ id: 'al_1', conn: {}, api: f.api, transport: 'ws' })).via, 'http');
});
