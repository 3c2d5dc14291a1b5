// The WebSocket transport (?transport=ws): an adapter that gives the
// connection manager the EventSource face it already drives (onopen,
// onmessage with {data, lastEventId}, onerror, readyState, close), so the
// backoff, polling fallback, status indicators, resume and reauth logic stay
// one and the same for both transports.
//
// The server sends each event as one text message,
// {"id": "...", "topic": "density|alerts", "type": "...", "data": ...}, and
// the same control messages as the SSE stream (connected, reset,
// snapshot-limit, reconnect). Two things SSE says in its own syntax come as
// messages here and are consumed by the adapter, as an EventSource consumes
// them: {"type":"checkpoint","id":...} moves the last event id without an
// event (SSE: an id line without data), {"type":"heartbeat"} keeps the line
// busy (SSE: a comment). As with EventSource, lastEventId is the last id
// seen on this connection and stays on the id-less messages that follow.
//
// Operators can also send requests ({"op":"acknowledge","id":...}); each is
// answered by a {"type":"reply","requestId":...,"ok":...} that request()
// resolves.

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 2;

// wsUrl turns a page-relative http(s) URL into the ws(s) URL of the same host.
export function wsUrl(url, baseHref) {
  const u = new URL(url, baseHref ?? 'http://localhost/');
  if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol === 'http:') u.protocol = 'ws:';
  return u.href;
}

// webSocketSource returns an EventSource-like class over WebSocketImpl;
// relative URLs are resolved against baseHref (the page's location).
export function webSocketSource(WebSocketImpl, baseHref) {
  return class WebSocketSource {
    static CONNECTING = CONNECTING;
    static OPEN = OPEN;
    static CLOSED = CLOSED;
    #ws; #pending = new Map(); #nextRequest = 1;
    readyState = CONNECTING;
    lastEventId = '';
    onopen = null;
    onmessage = null;
    onerror = null;

    constructor(url) {
      this.url = wsUrl(url, baseHref);
      const ws = new WebSocketImpl(this.url);
      this.#ws = ws;
      ws.onopen = () => {
        if (this.readyState !== CONNECTING) return;
        this.readyState = OPEN;
        this.onopen?.({});
      };
      ws.onmessage = (ev) => this.#received(ev.data);
      // An error is always followed by close; the close says it once.
      ws.onerror = () => {};
      ws.onclose = (ev) => {
        if (this.readyState === CLOSED) return;
        this.readyState = CLOSED;
        this.#rejectAll(new Error(`connection closed (${ev?.code ?? 'no code'})`));
        this.onerror?.({ code: ev?.code, reason: ev?.reason });
      };
    }

    #received(data) {
      if (typeof data !== 'string') return; // the server sends text only
      let msg = null;
      try { msg = JSON.parse(data); } catch { /* the manager reports it below */ }
      if (msg && typeof msg === 'object') {
        if (msg.type === 'heartbeat') return;
        if (typeof msg.id === 'string' && msg.id !== '') this.lastEventId = msg.id;
        if (msg.type === 'checkpoint') return;
        if (msg.type === 'reply') {
          const p = this.#pending.get(msg.requestId);
          if (p) {
            this.#pending.delete(msg.requestId);
            p.resolve(msg);
          }
          return;
        }
      }
      this.onmessage?.({ data, lastEventId: this.lastEventId });
    }

    // request sends {op, ...fields} and resolves with the server's reply
    // ({ok, data} or {ok: false, error: {code, message}}); it rejects when
    // the connection is not open or closes first.
    request(message) {
      if (this.readyState !== OPEN) return Promise.reject(new Error('not connected'));
      const requestId = `r${this.#nextRequest++}`;
      return new Promise((resolve, reject) => {
        this.#pending.set(requestId, { resolve, reject });
        try {
          this.#ws.send(JSON.stringify({ ...message, requestId }));
        } catch (err) {
          this.#pending.delete(requestId);
          reject(err);
        }
      });
    }

    close() {
      if (this.readyState === CLOSED) return;
      this.readyState = CLOSED;
      this.#rejectAll(new Error('connection closed'));
      this.#ws.close(1000);
    }

    #rejectAll(err) {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    }
  };
}
