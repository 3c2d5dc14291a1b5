// The client's ErrorHandler (the seed's handleDataStreamError): every stream
// problem goes to the console and, throttled, to the server's
// /client-errors endpoint, where it lands in the server log with its
// category and context. The throttle matters: a screen whose stream fails
// every second must not turn into a request storm of error reports.

export const CATEGORIES = Object.freeze(['sse-connection', 'sse-parse', 'polling', 'api', 'render']);

export class ErrorHandler {
  #fetch; #now; #console; #endpoint; #csrf; #max; #windowMs; #dedupeMs;
  #sent = []; // times of reports in the current window
  #recent = new Map(); // category+message -> last report time
  suppressed = 0;

  // options: fetch, now, console, endpoint, csrfToken() (header value or
  // ''), maxPerWindow (5), windowMs (60 s), dedupeMs (10 s: the same
  // category and message is reported once per dedupe interval).
  constructor(options = {}) {
    this.#fetch = options.fetch ?? (globalThis.fetch ? globalThis.fetch.bind(globalThis) : null);
    this.#now = options.now ?? Date.now;
    this.#console = options.console ?? globalThis.console;
    this.#endpoint = options.endpoint ?? '/api/crowd-risk/client-errors';
    this.#csrf = options.csrfToken ?? (() => '');
    this.#max = options.maxPerWindow ?? 5;
    this.#windowMs = options.windowMs ?? 60000;
    this.#dedupeMs = options.dedupeMs ?? 10000;
  }

  // handleDataStreamError logs and reports; it returns whether a report was sent.
  handleDataStreamError(error, category, context = {}) {
    const message = String(error?.message ?? error ?? 'unknown error').slice(0, 500);
    this.#console?.error?.(`[crowd-risk ${category}] ${message}`, context);
    const now = this.#now();
    if (!this.#allow(`${category}\u0000${message}`, now)) {
      this.suppressed++;
      return false;
    }
    const body = { category, message, context: { ...sanitize(context), page: pagePath() } };
    if (this.suppressed > 0) body.context.suppressed = this.suppressed;
    this.suppressed = 0;
    const headers = { 'Content-Type': 'application/json' };
    const token = this.#csrf();
    if (token) headers['X-CSRF-Token'] = token;
    if (this.#fetch) {
      // A failed report is not reported again: that is how loops start.
      Promise.resolve()
        .then(() => this.#fetch(this.#endpoint, {
          method: 'POST', headers, body: JSON.stringify(body), keepalive: true, credentials: 'same-origin',
        }))
        .catch(() => {});
    }
    return true;
  }

  #allow(key, now) {
    const last = this.#recent.get(key);
    if (last !== undefined && now - last < this.#dedupeMs) return false;
    this.#sent = this.#sent.filter((t) => now - t < this.#windowMs);
    if (this.#sent.length >= this.#max) return false;
    this.#sent.push(now);
    this.#recent.set(key, now);
    if (this.#recent.size > 100) this.#recent.delete(this.#recent.keys().next().value);
    return true;
  }
}

// sanitize keeps the context small and JSON-safe: flat values, short strings.
export function sanitize(context) {
  const out = {};
  for (const [k, v] of Object.entries(context ?? {}).slice(0, 20)) {
    if (v === null || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'string') out[k] = v.slice(0, 500);
    else if (v !== undefined) {
      try { out[k] = JSON.stringify(v).slice(0, 500); } catch { out[k] = String(v).slice(0, 500); }
    }
  }
  return out;
}

function pagePath() {
  return globalThis.location?.pathname ?? '';
}
