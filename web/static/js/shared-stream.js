// One stream per browser. Every tab of the dashboard used to hold its own
// EventSource, so with plain HTTP/1.1 (six connections per host) the
// seventh tab never loaded. Now one holder keeps the connection (the
// ordinary connection manager of connection.js, whatever its transport) and
// fans its messages out to every tab:
//
//   - a SharedWorker (stream-worker.js) where the browser has one: it lives
//     as long as any tab of the dashboard is open, so closing a tab never
//     interrupts the stream;
//   - otherwise (or with ?share=locks) the tabs elect a leader with the Web
//     Locks API: the tab holding the lock runs the connection and speaks to
//     the others over a BroadcastChannel. When it closes, the browser hands
//     the lock to the next tab in the queue, which opens the stream again
//     with the last event id every tab has seen, so nothing is missed and
//     nothing is shown twice.
//
// The parts here are pure (no DOM, no globals): a StreamHub beside the
// connection, a SharedStreamClient in each tab that looks like a
// DashboardConnection to the page, and the election. The tests drive them
// with fakes; common.js and stream-worker.js wire them to the browser.
//
// Envelopes, hub -> tabs ("to" set: for that tab only):
//   {kind:'hello', to, states, settings, replay, resume}  on join
//   {kind:'message', msg, meta, resume}                    every message
//   {kind:'state', topic, state, info}                     every state change
//   {kind:'reset', topics, reason}
//   {kind:'error', to, message, category, context}         to one tab, which reports it
//   {kind:'login'}                                         the session ended: sign in again
//   {kind:'leader'}                                        a new holder took over
//   {kind:'reply', to, requestId, reply | error}           the answer to a tab's request
// tabs -> hub: {kind:'join', from, config}, {kind:'retry', from, topic}, {kind:'leave', from},
//   {kind:'request', from, requestId, message}             a client message over the
//                                                          connection (a WebSocket's acknowledge)

import { CONNECTING, DISCONNECTED, DEFAULTS } from './connection.js';

// compareIds orders two "<ms>-<seq>" event ids (a bare number is <ms>-0).
export function compareIds(a, b) {
  const pa = String(a).split('-').map(Number);
  const pb = String(b).split('-').map(Number);
  return (pa[0] - pb[0]) || ((pa[1] || 0) - (pb[1] || 0));
}

// ReplayCache keeps the latest message of each thing a page shows (a
// zone's reading, an open alert, the emergency, the store state), so that a
// tab opened while the stream is already running gets the current picture
// at once instead of waiting for the next reading of every zone.
export class ReplayCache {
  #items = new Map();

  static keyOf(msg) {
    switch (msg?.type) {
      case 'density': return typeof msg.data?.zoneId === 'string' ? `density:${msg.data.zoneId}` : null;
      case 'alert': return typeof msg.data?.id === 'string' ? `alert:${msg.data.id}` : null;
      case 'emergency': return 'emergency';
      case 'store': return 'store';
      case 'snapshot-limit': return 'snapshot-limit';
      default: return null;
    }
  }

  add(msg, meta = {}) {
    const key = ReplayCache.keyOf(msg);
    if (!key) return;
    this.#items.delete(key); // keep arrival order: the newest last
    if (msg.type === 'alert' && msg.data?.status === 'resolved') return;
    this.#items.set(key, { msg, meta: { id: meta.id ?? '', topic: meta.topic, source: 'replay' } });
  }

  // drop forgets the topics a reset names.
  drop(topics) {
    for (const [key, { msg }] of this.#items) {
      const topic = msg.type === 'density' ? 'density' : 'alerts';
      if (topics.includes(topic)) this.#items.delete(key);
    }
  }

  list() { return [...this.#items.values()]; }
  load(list) { for (const { msg, meta } of list ?? []) this.add(msg, meta); }
  get size() { return this.#items.size; }
}

// StreamHub runs beside the one connection. create(resume) builds the
// connection (a DashboardConnection); resume is the last event id of each of
// its managers, for a holder that takes over. send(envelope) reaches the tabs.
export class StreamHub {
  #create; #send; #conn = null; #offs = [];
  #cache = new ReplayCache();
  #resume;
  #states = new Map(); // topic -> {state, info}
  #tabs = []; // tab ids, oldest first (the first one reports errors)

  constructor({ create, send, resume = [], replay = [] }) {
    this.#create = create;
    this.#send = send;
    this.#resume = [...resume];
    this.#cache.load(replay);
  }

  get connection() { return this.#conn; }
  get tabs() { return [...this.#tabs]; }
  get resume() { return [...this.#resume]; }

  // errorHandler is what the connection reports to: the oldest tab reports
  // it (through its own ErrorHandler), once, not once per tab.
  errorHandler() {
    return {
      handleDataStreamError: (err, category, context) => {
        const to = this.#tabs[0];
        if (to === undefined) return;
        this.#send({ kind: 'error', to, message: String(err?.message ?? err), category, context: plain(context) });
      },
    };
  }

  start() {
    if (this.#conn) return;
    const conn = this.#create(this);
    this.#conn = conn;
    conn.managers.forEach((m, i) => {
      if (this.#resume[i]) m.lastEventId = this.#resume[i];
      this.#offs.push(m.onMessage((msg, meta) => {
        this.#resume[i] = m.lastEventId;
        this.#cache.add(msg, meta);
        this.#send({ kind: 'message', msg, meta: { ...meta, stream: i }, resume: [...this.#resume] });
      }));
    });
    this.#offs.push(conn.subscribe((topic, state, info) => {
      this.#states.set(topic, { state, info: plain(info) });
      this.#send({ kind: 'state', topic, state, info: plain(info) });
    }));
    this.#offs.push(conn.onReset((topics, reason) => {
      this.#cache.drop(topics);
      this.#send({ kind: 'reset', topics, reason });
    }));
    this.#send({ kind: 'leader' });
    conn.start();
  }

  // handle is what a tab sent.
  handle(env) {
    if (!env || typeof env !== 'object') return;
    switch (env.kind) {
      case 'join':
        if (env.quiet) { if (!this.#tabs.includes(env.from)) this.#tabs.push(env.from); } else this.join(env.from);
        break;
      case 'leave': this.#tabs = this.#tabs.filter((t) => t !== env.from); break;
      case 'retry': this.#conn?.retry(env.topic || undefined); break;
      case 'request': this.#request(env); break;
      default: break;
    }
  }

  // request sends a tab's client message over the one connection and
  // sends the tab the server's reply (or why it could not be sent).
  #request({ from, requestId, message }) {
    const answer = (a) => this.#send({ kind: 'reply', to: from, requestId, ...a });
    let p;
    try {
      p = this.#conn?.request ? this.#conn.request(message) : Promise.reject(new Error('no connection'));
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then((reply) => answer({ reply: plain(reply) }), (err) => answer({ error: String(err?.message ?? err) }));
  }

  join(from) {
    if (!this.#tabs.includes(from)) this.#tabs.push(from);
    const states = {};
    const settings = {};
    for (const m of this.#conn?.managers ?? []) {
      for (const t of m.topics) {
        states[t] = this.#states.get(t) ?? { state: m.state(t), info: { mode: m.mode(t), policy: m.policy(t), failures: m.failures } };
        settings[t] = m.settings ?? { ...DEFAULTS };
      }
    }
    this.#send({ kind: 'hello', to: from, states, settings, replay: this.#cache.list(), resume: [...this.#resume] });
  }

  // close ends the connection without telling the tabs it is down: a
  // leader that leaves hands over, and the next holder tells its own states.
  close() {
    for (const off of this.#offs) off();
    this.#offs = [];
    this.#conn?.close();
    this.#conn = null;
  }
}

// SharedStreamClient is a tab's view of the shared stream: the same face as
// a DashboardConnection (state, mode, settings, subscribe, onMessage,
// onReset, start, close, retry), fed by the hub's envelopes.
export class SharedStreamClient {
  #id; #post; #topics; #hooks;
  #states = new Map();
  #modes = new Map();
  #settings = new Map();
  #stateListeners = new Set();
  #messageListeners = new Set();
  #resetListeners = new Set();
  #loginListeners = new Set();
  #errorListeners = new Set();
  #lastIds = []; // per stream: the newest id delivered (no message twice)
  #greeted = false;
  #started = false;
  #pending = new Map(); // requestId -> {resolve, reject, timer}
  #nextRequest = 1;
  #timers;
  cache = new ReplayCache(); // what a tab that takes over gives its new tabs

  // hooks.start/close run after the client's own start and close (the
  // fallback joins and leaves the election there). timers (setTimeout,
  // clearTimeout) bound a request that nobody answers.
  constructor({ id, post, topics = ['density', 'alerts'], hooks = {}, timers = globalThis }) {
    this.#id = id;
    this.#timers = timers;
    this.#post = post;
    this.#hooks = hooks;
    this.#topics = [...topics];
    for (const t of topics) {
      this.#states.set(t, DISCONNECTED);
      this.#modes.set(t, 'stream');
      this.#settings.set(t, { ...DEFAULTS });
    }
  }

  get id() { return this.#id; }
  get topics() { return [...this.#topics]; }
  get greeted() { return this.#greeted; }
  // resume: the last event id of each stream, what a new holder resumes from.
  get resume() { return [...this.#lastIds]; }
  state(topic) { return this.#states.get(topic) ?? DISCONNECTED; }
  mode(topic) { return this.#modes.get(topic) ?? 'stream'; }
  settings(topic) { return { ...(this.#settings.get(topic) ?? DEFAULTS) }; }
  densityConnectionState() { return this.state('density'); }
  alertConnectionState() { return this.state('alerts'); }
  subscribe(fn) { this.#stateListeners.add(fn); return () => this.#stateListeners.delete(fn); }
  onMessage(fn) { this.#messageListeners.add(fn); return () => this.#messageListeners.delete(fn); }
  onReset(fn) { this.#resetListeners.add(fn); return () => this.#resetListeners.delete(fn); }
  onLogin(fn) { this.#loginListeners.add(fn); return () => this.#loginListeners.delete(fn); }
  onError(fn) { this.#errorListeners.add(fn); return () => this.#errorListeners.delete(fn); }

  start() {
    if (this.#started) return;
    this.#started = true;
    this.#greeted = false;
    for (const t of this.#topics) if (this.#states.get(t) === DISCONNECTED) this.#setState(t, CONNECTING, { mode: this.mode(t) });
    this.#post({ kind: 'join', from: this.#id });
    this.#hooks.start?.();
  }

  close() {
    if (!this.#started) return;
    for (const [requestId, p] of this.#pending) {
      this.#pending.delete(requestId);
      this.#timers.clearTimeout(p.timer);
      p.reject(new Error('connection closed'));
    }
    this.#post({ kind: 'leave', from: this.#id });
    this.#hooks.close?.();
    this.#started = false;
    for (const t of this.#topics) this.#setState(t, DISCONNECTED, { mode: 'stream' });
  }

  retry(topic) { this.#post({ kind: 'retry', from: this.#id, topic: topic ?? '' }); }

  // request sends a client message ({op:'acknowledge', id}) over the shared
  // connection, as ConnectionManager.request does over a tab's own: it
  // resolves with the server's reply and rejects when it could not be sent
  // (not connected, SSE, no holder at the moment: a handover) or no answer
  // came within timeoutMs. A rejected request may be done another way.
  request(message, { timeoutMs = 5000 } = {}) {
    if (!this.#started) return Promise.reject(new Error('not connected'));
    const requestId = `${this.#id}:${this.#nextRequest++}`;
    return new Promise((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new Error('no answer from the shared connection'));
      }, timeoutMs);
      this.#pending.set(requestId, { resolve, reject, timer });
      this.#post({ kind: 'request', from: this.#id, requestId, message });
    });
  }

  // receive is every envelope the hub sends (some are for other tabs).
  receive(env) {
    if (!env || typeof env !== 'object' || !this.#started) return;
    if (env.to !== undefined && env.to !== this.#id) return;
    switch (env.kind) {
      case 'hello':
        this.#greeted = true;
        for (const [t, s] of Object.entries(env.settings ?? {})) this.#settings.set(t, s);
        for (const [t, { state, info }] of Object.entries(env.states ?? {})) this.#setState(t, state, info);
        (env.resume ?? []).forEach((id, i) => { if (id && !this.#lastIds[i]) this.#lastIds[i] = id; });
        for (const { msg, meta } of env.replay ?? []) this.#deliver(msg, meta);
        break;
      case 'leader':
        // A new holder: a tab it has not greeted yet asks again.
        if (!this.#greeted) this.#post({ kind: 'join', from: this.#id });
        break;
      case 'message': {
        const meta = env.meta ?? {};
        const i = meta.stream ?? 0;
        if (meta.id && this.#lastIds[i] && compareIds(meta.id, this.#lastIds[i]) <= 0) return; // seen: a handover's overlap
        if (meta.id) this.#lastIds[i] = meta.id;
        this.#deliver(env.msg, meta);
        break;
      }
      case 'state': this.#setState(env.topic, env.state, env.info ?? {}); break;
      case 'reset':
        this.cache.drop(env.topics ?? []);
        for (const fn of this.#resetListeners) fn(env.topics ?? [], env.reason ?? '');
        break;
      case 'error': for (const fn of this.#errorListeners) fn(new Error(env.message), env.category, env.context ?? {}); break;
      case 'login': for (const fn of this.#loginListeners) fn(); break;
      case 'reply': {
        const p = this.#pending.get(env.requestId);
        if (!p) break;
        this.#pending.delete(env.requestId);
        this.#timers.clearTimeout(p.timer);
        if (env.error !== undefined) p.reject(new Error(env.error));
        else p.resolve(env.reply);
        break;
      }
      default: break;
    }
  }

  #deliver(msg, meta) {
    this.cache.add(msg, meta);
    for (const fn of this.#messageListeners) {
      try { fn(msg, meta); } catch (err) {
        for (const e of this.#errorListeners) e(err, 'sse-parse', { type: msg?.type, handler: true });
      }
    }
  }

  #setState(topic, state, info = {}) {
    if (!this.#topics.includes(topic)) return;
    const mode = info.mode ?? 'stream';
    if (this.#states.get(topic) === state && this.#modes.get(topic) === mode) return;
    this.#states.set(topic, state);
    this.#modes.set(topic, mode);
    for (const fn of this.#stateListeners) fn(topic, state, { ...info, mode, settings: this.settings(topic) });
  }
}

// lockLeader runs the Web Locks election of the fallback: every tab queues
// for the lock; the one holding it leads (lead() is called; it returns the
// function that stops leading) until it leaves (the returned release) or
// the tab goes away, when the browser grants the lock to the next tab.
export function lockLeader({ locks, name, lead }) {
  let release = null;
  let left = false;
  let stop = null;
  const done = locks.request(name, () => {
    if (left) return undefined;
    stop = lead();
    return new Promise((resolve) => { release = resolve; });
  });
  return {
    done,
    get leading() { return release !== null && !left; },
    leave() {
      left = true;
      if (stop) { stop(); stop = null; }
      if (release) release();
    },
  };
}

// lockStream is a tab of the fallback: a SharedStreamClient that queues for
// the Web Lock and, holding it, runs the StreamHub itself, speaking to the
// other tabs over channel (a BroadcastChannel; it does not hear its own
// posts, so what is for this tab is handed over locally). create(hub, send)
// builds the connection; the new holder resumes from the last ids this tab
// has seen and greets new tabs with what it has shown.
export function lockStream({ id, key, channel, locks, create, onLead = () => {} }) {
  let hub = null;
  let election = null;
  let client = null;
  const send = (env) => {
    if (env.to === id) { client.receive(env); return; }
    channel.postMessage(env);
    if (env.to === undefined) client.receive(env);
  };
  const lead = () => {
    hub = new StreamHub({ send, resume: client.resume, replay: client.cache.list(), create: (h) => create(h, send) });
    hub.start(); // says 'leader': a tab not greeted yet (this one, maybe) joins
    // A tab that has been following has the picture: it only signs up (its errors come here).
    if (client.greeted) hub.handle({ kind: 'join', from: id, quiet: true });
    onLead(true);
    return () => { hub.close(); hub = null; onLead(false); };
  };
  client = new SharedStreamClient({
    id,
    post: (env) => (hub ? hub.handle(env) : channel.postMessage(env)),
    hooks: {
      start: () => { election = lockLeader({ locks, name: `crowdrisk-stream-leader:${key}`, lead }); },
      close: () => { election?.leave(); election = null; },
    },
  });
  channel.onmessage = (e) => {
    const env = e.data;
    if (hub && (env?.kind === 'join' || env?.kind === 'leave' || env?.kind === 'retry' || env?.kind === 'request')) hub.handle(env);
    else client.receive(env);
  };
  Object.defineProperty(client, 'leading', { get: () => hub !== null });
  return client;
}

// chooseShare picks how a page shares its stream: "worker", "locks" or
// "off" (its own connection, as before), from ?share= and what the browser has.
export function chooseShare(param, g = globalThis) {
  const hasWorker = typeof g.SharedWorker === 'function';
  const hasLocks = typeof g.BroadcastChannel === 'function' && typeof g.navigator?.locks?.request === 'function';
  if (param === 'off') return 'off';
  if (param === 'locks') return hasLocks ? 'locks' : 'off';
  if (param === 'worker') return hasWorker ? 'worker' : 'off';
  if (hasWorker) return 'worker';
  if (hasLocks) return 'locks';
  return 'off';
}

// shareKey names the stream a page needs: pages with different connection
// options (?streams=separate, ?transport=ws) do not share one.
export function shareKey(config) {
  return Object.keys(config).sort().map((k) => `${k}=${config[k]}`).join('&') || 'default';
}

// plain copies what postMessage must clone (no functions, no errors).
function plain(v) {
  try { return JSON.parse(JSON.stringify(v ?? {})); } catch { return {}; }
}
