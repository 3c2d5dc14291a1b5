// Fakes for the browser world: an EventSource the test drives by hand,
// timers that only move when the test advances them, a recording fetch.

export class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;

  constructor(url, log) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.closed = false;
    this.onopen = this.onmessage = this.onerror = null;
    log.push(this);
  }
  close() { this.closed = true; this.readyState = FakeEventSource.CLOSED; }
  open() { this.readyState = FakeEventSource.OPEN; this.onopen?.({}); }
  // fail: a refused connection (CONNECTING) or a non-200 answer (CLOSED).
  fail(readyState = FakeEventSource.CONNECTING) { this.readyState = readyState; this.onerror?.({}); }
  send(obj, id = '') { this.onmessage?.({ data: typeof obj === 'string' ? obj : JSON.stringify(obj), lastEventId: id }); }
}

export class FakeTimers {
  now = 0;
  #next = 1;
  #pending = new Map();
  setTimeout = (fn, ms) => { const id = this.#next++; this.#pending.set(id, { at: this.now + ms, ms, fn }); return id; };
  clearTimeout = (id) => { this.#pending.delete(id); };
  get pending() { return [...this.#pending.values()].sort((a, b) => a.at - b.at); }
  // advance runs every timer due within ms, in order.
  async advance(ms) {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.#pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await flush();
    }
    this.now = end;
    await flush();
  }
}

export async function flush() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export function fakeEnv({ random = () => 0, fetch } = {}) {
  const sources = [];
  const timers = new FakeTimers();
  class ES extends FakeEventSource { constructor(url) { super(url, sources); } }
  const fetchCalls = [];
  const env = {
    EventSource: ES,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    random,
    fetch: async (url, init) => {
      fetchCalls.push({ url, init });
      if (fetch) return fetch(url, init);
      return { ok: true, status: 200, json: async () => [{ zoneId: 'z1', density: 1.5 }] };
    },
  };
  return { env, sources, timers, fetchCalls, last: () => sources[sources.length - 1] };
}

export function recordingErrors() {
  const calls = [];
  return { calls, handleDataStreamError: (error, category, context) => calls.push({ error, category, context }) };
}

// FakeLocks: navigator.locks' exclusive request(name, cb), granted in
// request order; a holder keeps the lock until cb's promise settles.
export class FakeLocks {
  #queues = new Map(); // name -> [{cb, resolve}]
  held = new Map(); // name -> entry
  request(name, cb) {
    return new Promise((resolve) => {
      const q = this.#queues.get(name) ?? [];
      q.push({ cb, resolve });
      this.#queues.set(name, q);
      this.#grant(name);
    });
  }
  #grant(name) {
    if (this.held.get(name)) return;
    const q = this.#queues.get(name) ?? [];
    const next = q.shift();
    if (!next) return;
    this.held.set(name, next);
    Promise.resolve(next.cb({ name })).then((v) => {
      this.held.delete(name);
      next.resolve(v);
      this.#grant(name);
    });
  }
  // crash: the holder's tab is gone without releasing (the browser releases).
  crash(name) {
    const h = this.held.get(name);
    if (!h) return;
    this.held.delete(name);
    h.resolve(undefined);
    this.#grant(name);
  }
}

// FakeChannels: BroadcastChannels of one origin. A post reaches every
// other channel of the same name (not the sender), asynchronously, as a
// structured clone.
export class FakeChannels {
  #all = new Set();
  open(name) {
    const bus = this.#all;
    const ch = {
      name, onmessage: null, closed: false,
      postMessage(data) {
        const copy = structuredClone(data);
        for (const other of bus) {
          if (other !== ch && other.name === name && !other.closed) queueMicrotask(() => other.onmessage?.({ data: copy }));
        }
      },
      close() { ch.closed = true; bus.delete(ch); },
    };
    bus.add(ch);
    return ch;
  }
}

// FakeWebSocket is driven by hand, like fakes.js' FakeEventSource.
export class FakeWebSocket {
  constructor(url, log) {
    this.url = url;
    this.sent = [];
    this.closedWith = null;
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    log.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code) { this.closedWith = code; }
  open() { this.onopen?.({}); }
  recv(obj) { this.onmessage?.({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) }); }
  // drop: the server closed (or the handshake failed: 1006).
  drop(code = 1006) { this.onerror?.({}); this.onclose?.({ code, reason: '' }); }
}
