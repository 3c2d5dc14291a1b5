// What every dashboard page starts with: the error handler, the API client,
// the signed-in user, the one shared stream connection and its indicators.

import { createApi, ApiError } from './api.js';
import { ErrorHandler } from './errors.js';
import { createDashboardConnection, sharedConnection, browserEnv, holderLocation } from './connection.js';
import { SharedStreamClient, lockStream, chooseShare, shareKey } from './shared-stream.js';
import { createStatusIndicator } from './status.js';
import { byId } from './dom.js';

export const API = '/api/crowd-risk';
const LOGIN = '/admin/crowd-risk/login';

// UNKNOWN is who we are when the engine cannot say: a 404 from /api/auth/me
// means an old or misrouted server (every engine of this version answers
// it, the loopback demo included, with its local admin), so the page shows
// what a viewer sees and offers no control it cannot vouch for.
export const UNKNOWN = Object.freeze({ subject: 'unknown', role: 'viewer', authRequired: false, unknown: true });

// me asks who we are. 401 sends the browser to the login page; 404 is an
// engine that does not say (UNKNOWN: a viewer, never an admin).
export async function whoAmI(api) {
  try {
    return await api.get('/api/auth/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      location.assign(`${LOGIN}?next=${encodeURIComponent(location.pathname + location.search)}`);
      return new Promise(() => {}); // the page is going away
    }
    if (err instanceof ApiError && err.status === 404) return { ...UNKNOWN };
    throw err;
  }
}

export const canOperate = (me) => me.role === 'operator' || me.role === 'admin';
export const isAdmin = (me) => me.role === 'admin';

export function showPageError(err) {
  const el = byId('page-error');
  if (!el) return;
  if (!err) { el.hidden = true; el.textContent = ''; return; }
  el.textContent = err.field ? `${err.message} (${err.field})` : String(err.message ?? err);
  el.hidden = false;
}

export async function boot() {
  const api = createApi();
  const errors = new ErrorHandler({ csrfToken: api.csrf });
  const me = await whoAmI(api);
  document.body.dataset.role = me.role;
  if (me.authRequired) {
    byId('user').hidden = false;
    byId('user-name').textContent = `${me.subject} (${me.role})`;
    byId('sign-out').addEventListener('click', async () => {
      try { await api.del('/api/auth/session'); } catch { /* signed out either way */ }
      location.assign(LOGIN);
    });
  }
  const conn = pageConnection(errors);
  mountIndicators(conn);
  return { api, errors, me, conn };
}

// connectionConfig: the connection options a page's URL asks for.
// ?streams=separate uses the seed's two streams instead of one multiplexed
// one; ?transport= is passed on as is (the connection manager knows them).
export function connectionConfig(search) {
  const q = new URLSearchParams(search);
  const config = { base: API };
  if (q.get('streams') === 'separate') config.separate = true;
  if (q.get('transport')) config.transport = q.get('transport');
  return config;
}

// pageConnection: the page's connection, shared by all tabs of the browser
// (?share=locks forces the BroadcastChannel + Web Locks fallback, ?share=off
// gives the tab its own stream as before).
function pageConnection(errors) {
  const config = connectionConfig(location.search);
  const asked = new URLSearchParams(location.search).get('share');
  // ?transport=ws is shared like SSE: one WebSocket per browser.
  const share = chooseShare(asked);
  const key = shareKey(config);
  const own = () => createDashboardConnection({ ...config, errorHandler: errors });
  let conn;
  if (share === 'off') conn = sharedConnection(key, own);
  else conn = sharedConnection(`${share}:${key}`, () => sharedStream(share, config, key, errors));
  conn.shareMode = share;
  document.body.dataset.share = share;
  // For monitoring tools and the browser tests: the event ids this tab was
  // shown and when (ms), newest last, bounded; the connection states it
  // showed and when; when this tab took the stream over (?share=locks).
  const seen = [];
  conn.onMessage((msg, meta) => {
    if (!meta.id || meta.source === 'replay') return;
    seen.push([meta.id, Date.now(), msg.type]);
    if (seen.length > 5000) seen.splice(0, 2500);
    document.body.dataset.lastEventId = meta.id;
  });
  const states = [];
  conn.subscribe((topic, state) => {
    states.push([topic, state, Date.now()]);
    if (states.length > 500) states.splice(0, 250);
  });
  globalThis.crowdriskStream = {
    get seen() { return seen.map((s) => [...s]); },
    get states() { return states.map((s) => [...s]); },
    get ledAt() { return Number(document.body.dataset.streamLedAt ?? 0); },
  };
  return conn;
}

function randomId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

function toLogin() {
  location.assign(`${LOGIN}?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// sharedStream wires a SharedStreamClient to its holder: the SharedWorker,
// or the tab that holds the Web Lock (maybe this one).
function sharedStream(share, config, key, errors) {
  const id = randomId();
  let client;
  if (share === 'worker') {
    const worker = new SharedWorker(new URL('./stream-worker.js', import.meta.url), { type: 'module', name: `crowdrisk-stream:${key}` });
    const port = worker.port;
    client = new SharedStreamClient({ id, post: (env) => port.postMessage(env.kind === 'join' ? { ...env, config } : env) });
    port.onmessage = (e) => client.receive(e.data);
    port.start();
    worker.onerror = (ev) => errors.handleDataStreamError(new Error(ev?.message || 'shared worker failed'), 'sse-connection', { share });
  } else {
    client = lockStream({
      id, key, locks: navigator.locks, channel: new BroadcastChannel(`crowdrisk-stream:${key}`),
      onLead: (leading) => {
        document.body.dataset.streamHolder = String(leading);
        if (leading) document.body.dataset.streamLedAt = String(Date.now());
      },
      create: (h, send) => createDashboardConnection({
        ...config, errorHandler: h.errorHandler(),
        // The holder does not navigate for everyone: every tab goes to the login page.
        env: { ...browserEnv(), location: holderLocation(() => send({ kind: 'login' })) },
      }),
    });
  }
  client.onError((err, category, context) => errors.handleDataStreamError(err, category, context));
  client.onLogin(() => { client.close(); toLogin(); });
  return client;
}

const sharedText = (conn) => ({ worker: 'shared worker', locks: 'leader tab' }[conn.shareMode] ?? '');

function mountIndicators(conn) {
  const indicators = {};
  for (const [topic, slot] of [['density', 'density-status'], ['alerts', 'alerts-status']]) {
    const ind = createStatusIndicator(document, { stream: topic, showLabel: true });
    byId(slot).replaceWith(ind.element);
    ind.element.id = slot;
    ind.update(conn.state(topic), { mode: conn.mode(topic), settings: conn.settings(topic), shared: sharedText(conn) });
    indicators[topic] = ind;
  }
  const retry = byId('alerts-retry');
  const sync = () => { retry.hidden = conn.mode('alerts') !== 'stopped'; };
  retry.addEventListener('click', () => conn.retry('alerts'));
  conn.subscribe((topic, state, info) => {
    indicators[topic]?.update(state, { ...info, settings: conn.settings(topic), shared: sharedText(conn) });
    sync();
  });
  sync();
}
