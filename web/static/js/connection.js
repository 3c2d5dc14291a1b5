// The connection manager: the one module that keeps the dashboard's live
// streams open. Every page uses it for every stream.
//
// Why not rely on EventSource's own reconnect (see shared SSE.md): Chromium
// retries a network error every 3 s with no backoff and no attempt count, and
// on any non-200 answer (a proxy's 503 during a deploy) it gives up for good.
// So on every error we close() the EventSource ourselves and open a new one
// on our own timer: backoff 1 s, 2 s, 4 s, 8 s, ... at most 30 s, plus a
// little jitter so that a hundred screens do not reconnect in the same
// millisecond. A new EventSource sends no Last-Event-ID header, so the last id
// seen travels as the `lastEventId` query parameter.
//
// Topics and policies. A manager carries one or more topics on one
// connection, and each topic has its own state and policy:
//   "poll": after maxAttempts (5) failed attempts the topic falls back to
//           polling pollUrl every 5 s and the stream is retried in the
//           background at the maximum backoff; when the stream is back,
//           polling stops. The topic's state stays "reconnecting" (yellow)
//           while it polls; mode() says "polling".
//   "stop": after maxAttempts failed attempts the topic's state is "error",
//           mode() is "stopped" and the error is reported; retry() starts
//           over from the first attempt.
//
// How the seed's two indicators map onto ONE multiplexed connection
// (/stream?topics=density,alerts, the default: one connection per screen):
// one manager carries both topics, "density" with policy "poll" and
// "alerts" with policy "stop". Both indicators follow the same connection
// until the fifth failure; then the density indicator shows "reconnecting"
// while it polls /density, and the alerts indicator shows "error" with a
// Retry control. The background attempts that the density policy keeps
// making use the same multiplexed URL, so when the stream comes back the
// alerts topic comes back too, resuming from the last id (no alert is
// lost) and both indicators turn green. With ?streams=separate the page
// uses two managers (the seed's density-stream and alert-stream), and the
// alert manager really stops until retry().
//
// Credentials. The server ends a stream when its token expires or its
// session signs out, with a reconnect message that says reauth: true. The
// manager then asks meUrl whether it is still signed in before coming back:
// 401 sends the browser to the login page, as a 401 at load does (back on
// this page after signing in, a new stream starts with a full snapshot);
// anything else (another session signed out with the same token, a token
// renewed meanwhile) reconnects as usual, resuming from the last id.
//
// Transport. SSE by default; with transport "ws" (the page's ?transport=ws)
// the same manager opens /ws?topics=... through the adapter of ws-source.js,
// which looks like an EventSource to everything here: same states, backoff,
// polling fallback, resume (?lastEventId=) and reauth.

export const CONNECTING = 'connecting';
export const CONNECTED = 'connected';
export const DISCONNECTED = 'disconnected';
export const ERROR = 'error';
export const RECONNECTING = 'reconnecting';

export const DEFAULTS = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30000,
  jitterRatio: 0.1, // up to +10 % of the delay
  pollIntervalMs: 5000,
});

import { webSocketSource } from './ws-source.js';

const ME_URL = '/api/auth/me';
const LOGIN_URL = '/admin/crowd-risk/login';

// Which topic a message type belongs to.
const TOPIC_OF_TYPE = { density: 'density', alert: 'alerts', emergency: 'alerts', store: 'alerts' };

// backoffDelay is the wait after the failures-th consecutive failure:
// base * 2^(failures-1), capped at max, plus jitter in [0, ratio * delay).
export function backoffDelay(failures, opts, random) {
  const o = { ...DEFAULTS, ...opts };
  const base = Math.min(o.baseDelayMs * 2 ** Math.max(0, failures - 1), o.maxDelayMs);
  return Math.floor(base + base * o.jitterRatio * random());
}

// withLastEventId adds the resume parameter to a stream URL.
export function withLastEventId(url, id) {
  if (!id) return url;
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}lastEventId=${encodeURIComponent(id)}`;
}

// holderLocation is the location a connection held for several tabs (in
// the SharedWorker or the Web Locks leader) sees: the real href, so that
// relative URLs (the WebSocket's) resolve to this origin, but no page of
// its own to name as ?next= or navigate: assign() tells every tab instead.
export function holderLocation(assign, href = globalThis.location?.href) {
  return { href, pathname: '', search: '', assign };
}

// browserEnv is the real world; tests pass fakes instead.
export function browserEnv() {
  return {
    EventSource: globalThis.EventSource,
    WebSocket: globalThis.WebSocket,
    setTimeout: globalThis.setTimeout.bind(globalThis),
    clearTimeout: globalThis.clearTimeout.bind(globalThis),
    fetch: globalThis.fetch ? globalThis.fetch.bind(globalThis) : undefined,
    random: Math.random,
    location: globalThis.location,
  };
}

export class ConnectionManager {
  #url; #topics; #policies; #pollUrl; #env; #opts; #errors; #transport; #Source;
  #es = null;
  #timer = null;
  #pollTimer = null;
  #polling = false;
  #pollGeneration = 0;
  #started = false;
  #failures = 0;
  #comeBackIn = null; // ms the server asked for in its goodbye, used once
  #reauth = false; // the goodbye said our credentials ended
  #meUrl; #loginUrl;
  #states = new Map();
  #modes = new Map();
  #announced = new Map(); // topic -> "state/mode" last told to subscribers
  #stateListeners = new Set();
  #messageListeners = new Set();
  #resetListeners = new Set();
  lastEventId = '';

  // options: url, topics (['density','alerts']), policies ({density:'poll'}),
  // pollUrl, env (EventSource, WebSocket, setTimeout, clearTimeout, fetch,
  // random, location), errorHandler ({handleDataStreamError}), lastEventId,
  // meUrl, loginUrl, transport ('sse' or 'ws') and DEFAULTS' keys.
  constructor(options) {
    this.#url = options.url;
    this.#meUrl = options.meUrl ?? ME_URL;
    this.#loginUrl = options.loginUrl ?? LOGIN_URL;
    this.#topics = options.topics ?? ['density', 'alerts'];
    this.#policies = options.policies ?? {};
    this.#pollUrl = options.pollUrl;
    this.#env = options.env ?? browserEnv();
    this.#errors = options.errorHandler;
    this.#transport = options.transport === 'ws' ? 'ws' : 'sse';
    this.#opts = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS)) if (options[k] !== undefined) this.#opts[k] = options[k];
    this.lastEventId = options.lastEventId ?? '';
    for (const t of this.#topics) {
      this.#states.set(t, DISCONNECTED);
      this.#modes.set(t, 'stream');
    }
  }

  get topics() { return [...this.#topics]; }
  get transport() { return this.#transport; }
  get failures() { return this.#failures; }
  state(topic) { return this.#states.get(topic); }
  // mode is "stream", "polling" (policy poll after maxAttempts) or
  // "stopped" (policy stop after maxAttempts).
  mode(topic) { return this.#modes.get(topic); }
  policy(topic) { return this.#policies[topic] ?? 'stop'; }
  get polling() { return this.#polling; }
  // settings: the attempts, delays and polling interval in force (what the
  // status indicator tells the operator).
  get settings() { return { ...this.#opts }; }

  // subscribe(fn) calls fn(topic, state, info) on every state change and
  // returns the unsubscribe function.
  subscribe(fn) { this.#stateListeners.add(fn); return () => this.#stateListeners.delete(fn); }
  // onMessage(fn) calls fn(message, meta) for every parsed message, meta =
  // {id, topic, source: "stream"|"poll"}.
  onMessage(fn) { this.#messageListeners.add(fn); return () => this.#messageListeners.delete(fn); }
  // onReset(fn) calls fn(topics, reason) when the server could not resume
  // and the client must drop its state of those topics (a snapshot follows).
  onReset(fn) { this.#resetListeners.add(fn); return () => this.#resetListeners.delete(fn); }

  start() {
    if (this.#started) return;
    this.#started = true;
    this.#failures = 0;
    this.#setAll(CONNECTING);
    this.#connect();
  }

  // retry starts over from the first attempt, now (the Retry control).
  retry() {
    this.#clearTimer();
    this.#closeSource();
    this.#started = true;
    this.#failures = 0;
    for (const t of this.#topics) if (this.#modes.get(t) === 'stopped') this.#modes.set(t, 'stream');
    this.#setAll(CONNECTING, (t) => this.#modes.get(t) !== 'polling');
    this.#connect();
  }

  // close ends everything: stream, timers, polling. Used on pagehide.
  close() {
    this.#started = false;
    this.#clearTimer();
    this.#closeSource();
    this.#stopPolling();
    this.#failures = 0;
    for (const t of this.#topics) this.#modes.set(t, 'stream');
    this.#setAll(DISCONNECTED);
  }

  // request sends a client message over the WebSocket transport (an
  // acknowledgement) and resolves with the server's reply; it rejects on
  // SSE, which has no way back, and while disconnected.
  request(message) {
    if (!this.#es?.request) return Promise.reject(new Error(`no request channel on ${this.#transport}`));
    return this.#es.request(message);
  }

  #source() {
    if (this.#transport !== 'ws') return this.#env.EventSource;
    // The socket's URL is resolved against the page (or, in the shared
    // worker, the worker script: the same origin). Never against nothing:
    // that resolved to ws://localhost/, which is why a WebSocket in the
    // SharedWorker (whose env location has no href) never connected.
    this.#Source ??= webSocketSource(this.#env.WebSocket, this.#env.location?.href ?? globalThis.location?.href);
    return this.#Source;
  }

  #connect() {
    const ES = this.#source();
    const es = new ES(withLastEventId(this.#url, this.lastEventId));
    this.#es = es;
    es.onopen = () => { if (es === this.#es) this.#opened(); };
    es.onmessage = (ev) => { if (es === this.#es) this.#message(ev); };
    es.onerror = () => { if (es === this.#es) this.#failed(es); };
  }

  #opened() {
    this.#failures = 0;
    this.#stopPolling();
    for (const t of this.#topics) this.#modes.set(t, 'stream');
    this.#setAll(CONNECTED);
  }

  #failed(es) {
    const readyState = es.readyState;
    this.#closeSource();
    if (this.#reauth) {
      // Not a failure: the server ended the stream with our credentials.
      this.#reauth = false;
      const told = this.#comeBackIn;
      this.#comeBackIn = null;
      this.#setAll(RECONNECTING, (t) => this.#modes.get(t) === 'stream');
      this.#whenSignedIn(() => this.#schedule(told ?? backoffDelay(1, this.#opts, this.#env.random)));
      return;
    }
    this.#failures++;
    const o = this.#opts;
    this.#report(new Error('stream connection failed'), 'sse-connection', {
      url: this.#url, attempt: this.#failures, readyState, lastEventId: this.lastEventId,
    });
    // The momentary "error" is visible to subscribers (the seed's sequence:
    // error, then reconnecting) for topics still following the stream.
    this.#setAll(ERROR, (t) => this.#modes.get(t) === 'stream');
    if (this.#failures < o.maxAttempts) {
      this.#setAll(RECONNECTING, (t) => this.#modes.get(t) === 'stream');
      // A server going down tells every screen its own moment to come back
      // (spread over a few seconds): use it rather than all trying at 1 s.
      const told = this.#comeBackIn;
      this.#comeBackIn = null;
      this.#schedule(told ?? backoffDelay(this.#failures, o, this.#env.random));
      return;
    }
    let keepTrying = false;
    for (const t of this.#topics) {
      if (this.policy(t) === 'poll') {
        keepTrying = true;
        this.#modes.set(t, 'polling');
        this.#set(t, RECONNECTING);
      } else {
        if (this.#modes.get(t) !== 'stopped') {
          this.#report(new Error(`gave up after ${this.#failures} failed attempts`), 'sse-connection', {
            url: this.#url, topic: t, attempts: this.#failures,
          });
        }
        this.#modes.set(t, 'stopped');
        this.#set(t, ERROR);
      }
    }
    if (keepTrying) {
      this.#startPolling();
      // In the background, at the maximum backoff.
      this.#schedule(backoffDelay(Infinity, o, this.#env.random));
    }
  }

  #message(ev) {
    if (ev.lastEventId) this.lastEventId = ev.lastEventId;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (err) {
      this.#report(err, 'sse-parse', { event: String(ev.data).slice(0, 500), lastEventId: ev.lastEventId });
      return;
    }
    if (msg === null || typeof msg !== 'object' || typeof msg.type !== 'string') {
      this.#report(new Error('message without a type'), 'sse-parse', { event: String(ev.data).slice(0, 500) });
      return;
    }
    if (msg.type === 'connected' && this.#states.get(this.#topics[0]) !== CONNECTED) this.#opened();
    if (msg.type === 'reconnect') {
      const ms = Number(msg.data?.retryMs);
      if (Number.isFinite(ms) && ms >= 0) this.#comeBackIn = Math.min(ms, this.#opts.maxDelayMs);
      this.#reauth = msg.data?.reauth === true;
    }
    if (msg.type === 'reset') {
      const topics = Array.isArray(msg.data?.topics) ? msg.data.topics : this.#topics;
      for (const fn of this.#resetListeners) fn(topics, msg.data?.reason ?? '');
    }
    this.#deliver(msg, { id: ev.lastEventId || '', topic: TOPIC_OF_TYPE[msg.type], source: 'stream' });
  }

  #deliver(msg, meta) {
    for (const fn of this.#messageListeners) {
      try { fn(msg, meta); } catch (err) {
        this.#report(err, 'sse-parse', { type: msg.type, handler: true });
      }
    }
  }

  // whenSignedIn runs then unless the session is gone (401), in which case
  // the page goes to the login page, as for a 401 at load.
  async #whenSignedIn(then) {
    try {
      const res = await this.#env.fetch(this.#meUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (res.status === 401) {
        const loc = this.#env.location;
        this.close();
        if (loc) loc.assign(`${this.#loginUrl}?next=${encodeURIComponent(loc.pathname + loc.search)}`);
        return;
      }
    } catch { /* cannot tell: reconnect, and the stream's own answer decides */ }
    if (this.#started) then();
  }

  #schedule(delay) {
    this.#clearTimer();
    this.#timer = this.#env.setTimeout(() => {
      this.#timer = null;
      if (this.#started) this.#connect();
    }, delay);
  }

  #startPolling() {
    if (this.#polling || !this.#pollUrl) return;
    this.#polling = true;
    const gen = ++this.#pollGeneration;
    const tick = async () => {
      this.#pollTimer = null;
      try {
        const res = await this.#env.fetch(this.#pollUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        if (!res.ok) throw new Error(`polling ${this.#pollUrl}: HTTP ${res.status}`);
        const readings = await res.json();
        if (gen !== this.#pollGeneration) return; // the stream came back meanwhile
        for (const r of Array.isArray(readings) ? readings : []) {
          this.#deliver({ type: 'density', data: r }, { id: '', topic: 'density', source: 'poll' });
        }
      } catch (err) {
        if (gen === this.#pollGeneration) this.#report(err, 'sse-connection', { url: this.#pollUrl, polling: true });
      }
      if (gen === this.#pollGeneration && this.#polling) {
        this.#pollTimer = this.#env.setTimeout(tick, this.#opts.pollIntervalMs);
      }
    };
    tick();
  }

  #stopPolling() {
    this.#polling = false;
    this.#pollGeneration++;
    if (this.#pollTimer !== null) this.#env.clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
  }

  #clearTimer() {
    if (this.#timer !== null) this.#env.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #closeSource() {
    const es = this.#es;
    this.#es = null;
    if (es) {
      es.onopen = es.onmessage = es.onerror = null;
      es.close();
    }
  }

  #report(err, category, context) {
    if (this.#errors) this.#errors.handleDataStreamError(err, category, context);
  }

  #setAll(state, filter = () => true) {
    for (const t of this.#topics) if (filter(t)) this.#set(t, state);
  }

  #set(topic, state) {
    // A change of mode alone (error -> error but now stopped) is news too.
    const key = `${state}/${this.#modes.get(topic)}`;
    if (this.#announced.get(topic) === key) return;
    this.#announced.set(topic, key);
    this.#states.set(topic, state);
    const info = { mode: this.#modes.get(topic), failures: this.#failures, policy: this.policy(topic) };
    for (const fn of this.#stateListeners) fn(topic, state, info);
  }
}

// DashboardConnection is what a page holds: the seed's two connection states
// (densityConnectionState / alertConnectionState) over one multiplexed
// manager by default, or over two managers with { separate: true }.
export class DashboardConnection {
  #managers; #byTopic = new Map();

  constructor(managers) {
    this.#managers = managers;
    for (const m of managers) for (const t of m.topics) this.#byTopic.set(t, m);
  }

  get managers() { return [...this.#managers]; }
  manager(topic) { return this.#byTopic.get(topic); }
  state(topic) { return this.#byTopic.get(topic)?.state(topic) ?? DISCONNECTED; }
  mode(topic) { return this.#byTopic.get(topic)?.mode(topic) ?? 'stream'; }
  settings(topic) { return this.#byTopic.get(topic)?.settings ?? { ...DEFAULTS }; }
  densityConnectionState() { return this.state('density'); }
  alertConnectionState() { return this.state('alerts'); }
  subscribe(fn) { const offs = this.#managers.map((m) => m.subscribe(fn)); return () => offs.forEach((f) => f()); }
  onMessage(fn) { const offs = this.#managers.map((m) => m.onMessage(fn)); return () => offs.forEach((f) => f()); }
  onReset(fn) { const offs = this.#managers.map((m) => m.onReset(fn)); return () => offs.forEach((f) => f()); }
  start() { this.#managers.forEach((m) => m.start()); }
  close() { this.#managers.forEach((m) => m.close()); }
  retry(topic) { (topic ? [this.#byTopic.get(topic)] : this.#managers).forEach((m) => m?.retry()); }
  // request sends a client message (an acknowledgement) over the alerts
  // connection; see ConnectionManager.request.
  request(message) {
    const m = this.#byTopic.get('alerts') ?? this.#managers[0];
    return m ? m.request(message) : Promise.reject(new Error('no connection'));
  }
}

// transportFromLocation reads the page's ?transport= (ws or the default sse).
export function transportFromLocation(loc) {
  try {
    return new URLSearchParams(loc?.search ?? '').get('transport') === 'ws' ? 'ws' : 'sse';
  } catch {
    return 'sse';
  }
}

// createDashboardConnection builds the page's connection. base is the API
// prefix; separate selects the seed's two streams instead of the multiplexed
// one; transport is 'sse' or 'ws' (default: the page's ?transport=).
export function createDashboardConnection({ base = '/api/crowd-risk', separate = false, env, errorHandler, transport, ...opts } = {}) {
  transport ??= transportFromLocation(env?.location ?? globalThis.location);
  const common = { env, errorHandler, pollUrl: `${base}/density`, transport, ...opts };
  if (transport === 'ws') {
    const ws = (topics) => `${base}/ws?topics=${topics.join(',')}`;
    if (!separate) {
      return new DashboardConnection([new ConnectionManager({
        ...common, url: ws(['density', 'alerts']), topics: ['density', 'alerts'],
        policies: { density: 'poll', alerts: 'stop' },
      })]);
    }
    return new DashboardConnection([
      new ConnectionManager({ ...common, url: ws(['density']), topics: ['density'], policies: { density: 'poll' } }),
      new ConnectionManager({ ...common, url: ws(['alerts']), topics: ['alerts'], policies: { alerts: 'stop' } }),
    ]);
  }
  if (!separate) {
    return new DashboardConnection([new ConnectionManager({
      ...common, url: `${base}/stream?topics=density,alerts`, topics: ['density', 'alerts'],
      policies: { density: 'poll', alerts: 'stop' },
    })]);
  }
  return new DashboardConnection([
    new ConnectionManager({ ...common, url: `${base}/density-stream`, topics: ['density'], policies: { density: 'poll' } }),
    new ConnectionManager({ ...common, url: `${base}/alert-stream`, topics: ['alerts'], policies: { alerts: 'stop' } }),
  ]);
}

// A page keeps one connection per key however often it re-renders.
const shared = new Map();

// sharedConnection returns the page's connection for key, creating and
// starting it once; it is closed on pagehide (no leaked streams when the
// tab goes away) and reopened if the page comes back from the bfcache.
export function sharedConnection(key, factory, win = globalThis.window) {
  let conn = shared.get(key);
  if (conn) return conn;
  conn = factory();
  shared.set(key, conn);
  conn.start();
  if (win && win.addEventListener) {
    win.addEventListener('pagehide', () => conn.close());
    win.addEventListener('pageshow', (ev) => { if (ev.persisted) conn.start(); });
  }
  return conn;
}
