import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDashboardConnection } from '../static/js/connection.js';
import {
  StreamHub, SharedStreamClient, ReplayCache, lockLeader, lockStream, chooseShare, shareKey, compareIds,
} from '../static/js/shared-stream.js';
import { fakeEnv, flush, FakeLocks, FakeChannels } from './fakes.js';

const ready = (m) => ({ type: 'density', data: { zoneId: m, density: 1 } });

// A hub and n tabs joined to it through structured-clone "ports" (as a
// SharedWorker's are).
function worker(n, f = fakeEnv(), opts = {}) {
  const clients = new Map();
  const send = (env) => {
    const copy = structuredClone(env);
    for (const [id, c] of clients) if (env.to === undefined || env.to === id) c.receive(copy);
  };
  const hub = new StreamHub({
    send,
    create: (h) => createDashboardConnection({ base: '/api/crowd-risk', env: f.env, errorHandler: h.errorHandler(), ...opts }),
  });
  const tabs = [];
  const add = () => {
    const id = `tab${tabs.length + 1}`;
    const c = new SharedStreamClient({ id, post: (env) => { hub.start(); hub.handle(structuredClone(env)); } });
    clients.set(id, c);
    const got = { msgs: [], states: [], errors: [] };
    c.onMessage((msg, meta) => got.msgs.push({ msg, meta }));
    c.subscribe((topic, state, info) => got.states.push(`${topic}:${state}${info.mode !== 'stream' ? '/' + info.mode : ''}`));
    c.onError((err, category) => got.errors.push(`${category}: ${err.message}`));
    tabs.push({ c, got, id });
    c.start();
    return tabs[tabs.length - 1];
  };
  for (let i = 0; i < n; i++) add();
  return { hub, tabs, f, add, clients };
}

test('one connection for many tabs: every message and state reaches every tab', async () => {
  const w = worker(20);
  assert.equal(w.f.sources.length, 1, 'one EventSource for 20 tabs');
  w.f.last().open();
  w.f.last().send({ type: 'density', data: { zoneId: 'gate-a', density: 2.1, timestamp: 1 } }, '100-0');
  w.f.last().send({ type: 'alert', data: { id: 'al1', zoneId: 'gate-a', status: 'active', level: 'critical', updatedAt: 1 } }, '100-1');
  for (const { c, got } of w.tabs) {
    assert.equal(c.state('density'), 'connected');
    assert.equal(c.state('alerts'), 'connected');
    assert.deepEqual(got.msgs.map((m) => m.meta.id), ['100-0', '100-1']);
    assert.deepEqual(c.resume, ['100-1']);
  }
});

test('a tab that joins late gets the current picture (latest reading per zone, open alerts), not the history', () => {
  const w = worker(1);
  const es = w.f.last();
  es.open();
  es.send({ type: 'density', data: { zoneId: 'a', density: 1, timestamp: 1 } }, '1-0');
  es.send({ type: 'density', data: { zoneId: 'a', density: 2, timestamp: 2 } }, '2-0');
  es.send({ type: 'alert', data: { id: 'x', status: 'active' } }, '3-0');
  es.send({ type: 'alert', data: { id: 'y', status: 'active' } }, '4-0');
  es.send({ type: 'alert', data: { id: 'y', status: 'resolved' } }, '5-0');
  const late = w.add();
  assert.equal(late.c.state('density'), 'connected', 'the hello carries the states');
  assert.deepEqual(late.got.msgs.map((m) => `${m.msg.type}:${m.msg.data.zoneId ?? m.msg.data.id}:${m.meta.source}`),
    ['density:a:replay', 'alert:x:replay']);
  assert.equal(late.got.msgs[0].msg.data.density, 2);
  assert.deepEqual(late.c.resume, ['5-0'], 'the late tab knows where the stream is');
});

test('a reset drops the replay cache of its topics', () => {
  const c = new ReplayCache();
  c.add(ready('a'));
  c.add({ type: 'alert', data: { id: 'x', status: 'active' } });
  c.drop(['alerts']);
  assert.deepEqual(c.list().map((e) => e.msg.type), ['density']);
});

test('the connection settings reach the tabs (what the indicator tells)', async () => {
  const w = worker(2, fakeEnv(), { maxAttempts: 3, pollIntervalMs: 2000 });
  assert.equal(w.tabs[1].c.settings('density').maxAttempts, 3);
  assert.equal(w.tabs[1].c.settings('density').pollIntervalMs, 2000);
});

test('failures: every tab follows the states; the error is reported once, by one tab; Retry goes to the holder', async () => {
  const w = worker(3, fakeEnv(), { maxAttempts: 2 });
  w.f.last().fail();
  await w.f.timers.advance(1000);
  w.f.last().fail();
  for (const { c } of w.tabs) {
    assert.equal(c.mode('alerts'), 'stopped');
    assert.equal(c.state('alerts'), 'error');
    assert.equal(c.mode('density'), 'polling');
  }
  const reports = w.tabs.map((t) => t.got.errors.length);
  assert.ok(reports[0] >= 2 && reports[1] === 0 && reports[2] === 0, `reports per tab ${reports}`);
  const n = w.f.sources.length;
  w.tabs[2].c.retry('alerts');
  assert.equal(w.f.sources.length, n + 1, 'retry opened a new attempt at once');
  assert.equal(w.tabs[0].c.state('alerts'), 'connecting');
});

test('a tab that leaves stops getting messages; the others go on', () => {
  const w = worker(2);
  w.f.last().open();
  w.tabs[0].c.close();
  w.f.last().send(ready('a'), '9-0');
  assert.equal(w.tabs[0].got.msgs.length, 0);
  assert.equal(w.tabs[1].got.msgs.length, 1);
  assert.deepEqual(w.hub.tabs, ['tab2']);
});

test('compareIds orders <ms>-<seq> ids', () => {
  assert.ok(compareIds('100-2', '100-10') < 0);
  assert.ok(compareIds('101-0', '100-10') > 0);
  assert.equal(compareIds('100-1', '100-1'), 0);
  assert.ok(compareIds('100', '100-1') < 0);
});

test('lockLeader: granted in order; leaving hands the lock to the next tab', async () => {
  const locks = new FakeLocks();
  const log = [];
  const mk = (n) => lockLeader({ locks, name: 'L', lead: () => { log.push(`lead ${n}`); return () => log.push(`stop ${n}`); } });
  const a = mk('a'); const b = mk('b'); const c = mk('c');
  await flush();
  assert.deepEqual(log, ['lead a']);
  assert.ok(a.leading && !b.leading);
  b.leave(); // a queued tab that goes away never leads
  a.leave();
  await flush();
  assert.deepEqual(log, ['lead a', 'stop a', 'lead c']);
  assert.ok(c.leading);
});

// The fallback: tabs with lockStream over fake BroadcastChannels and Web
// Locks, each holder with its own fake EventSources.
function lockTabs(n) {
  const locks = new FakeLocks();
  const channels = new FakeChannels();
  const envs = [];
  const tabs = [];
  for (let i = 0; i < n; i++) {
    const f = fakeEnv();
    envs.push(f);
    const got = { ids: [], states: [] };
    const c = lockStream({
      id: `t${i}`, key: 'k', locks, channel: channels.open('crowdrisk-stream:k'),
      create: (h) => createDashboardConnection({ base: '/api/crowd-risk', env: f.env, errorHandler: h.errorHandler() }),
    });
    c.onMessage((msg, meta) => got.ids.push(meta.id || `${meta.source}:${msg.data?.zoneId}`));
    c.subscribe((topic, state) => got.states.push(`${topic}:${state}`));
    tabs.push({ c, f, got });
  }
  return { locks, tabs, envs };
}

test('?share=locks: one leader holds the stream; its messages reach every tab', async () => {
  const { tabs } = lockTabs(4);
  tabs.forEach((t) => t.c.start());
  await flush();
  assert.equal(tabs.filter((t) => t.c.leading).length, 1);
  assert.equal(tabs.reduce((s, t) => s + t.f.sources.length, 0), 1, 'one EventSource for four tabs');
  const es = tabs[0].f.last();
  es.open();
  await flush();
  es.send(ready('a'), '10-0');
  es.send(ready('b'), '10-1');
  await flush();
  for (const t of tabs) {
    assert.equal(t.c.state('density'), 'connected');
    assert.deepEqual(t.got.ids.filter((x) => !x.startsWith('replay')), ['10-0', '10-1']);
  }
});

test('?share=locks: the leader closes; the next tab resumes with the last id, no gap and no event twice', async () => {
  const { tabs } = lockTabs(3);
  tabs.forEach((t) => t.c.start());
  await flush();
  const es = tabs[0].f.last();
  es.open();
  es.send(ready('a'), '10-0');
  es.send(ready('b'), '10-1');
  await flush();
  tabs[0].c.close(); // pagehide of the holder
  await flush();
  assert.ok(tabs[1].c.leading, 'the next tab in the queue holds the stream');
  const es2 = tabs[1].f.last();
  assert.match(es2.url, /lastEventId=10-1$/, 'resumes from the last id every tab saw');
  es2.open();
  await flush();
  es2.send(ready('b'), '10-1'); // an overlap is not shown twice
  es2.send(ready('c'), '10-2');
  await flush();
  for (const t of tabs.slice(1)) {
    assert.deepEqual(t.got.ids.filter((x) => !x.startsWith('replay')), ['10-0', '10-1', '10-2']);
    assert.equal(t.c.state('density'), 'connected');
    assert.ok(!t.got.states.includes('density:disconnected'), 'the handover is no outage');
  }
  assert.equal(tabs[0].f.last().closed, true, 'the old holder closed its stream');
});

test('?share=locks: a holder that crashes (no pagehide) is replaced too', async () => {
  const { tabs, locks } = lockTabs(2);
  tabs.forEach((t) => t.c.start());
  await flush();
  tabs[0].f.last().open();
  tabs[0].f.last().send(ready('a'), '5-0');
  await flush();
  locks.crash('crowdrisk-stream-leader:k');
  await flush();
  assert.ok(tabs[1].c.leading);
  assert.match(tabs[1].f.last().url, /lastEventId=5-0$/);
});

test('chooseShare: SharedWorker first, the lock fallback without it, ?share= forces', () => {
  const full = { SharedWorker: function W() {}, BroadcastChannel: function B() {}, navigator: { locks: { request() {} } } };
  const noWorker = { BroadcastChannel: function B() {}, navigator: { locks: { request() {} } } };
  assert.equal(chooseShare(null, full), 'worker');
  assert.equal(chooseShare('locks', full), 'locks');
  assert.equal(chooseShare('off', full), 'off');
  assert.equal(chooseShare(null, noWorker), 'locks');
  assert.equal(chooseShare(null, {}), 'off');
  assert.equal(chooseShare('worker', noWorker), 'off');
});

test('shareKey: pages with different connection options do not share', () => {
  assert.equal(shareKey({ base: '/api', separate: true }), 'base=/api&separate=true');
  assert.notEqual(shareKey({ base: '/api' }), shareKey({ base: '/api', transport: 'ws' }));
});
