// Acknowledging an alert. Over the WebSocket transport (?transport=ws) the
// acknowledgement goes over the socket the page already has (the shared
// one, through the SharedWorker or the leader tab, when tabs share it):
// {"op":"acknowledge","id":…} answered by a reply with the alert, or with the
// HTTP API's error codes. When the socket cannot take it (not open, a
// handover under way, SSE, no answer in time), or the server says it was
// not done for a reason of the channel (rate_limited, unavailable), the
// page POSTs it instead, as over SSE. Acknowledging twice is harmless: the
// engine answers an acknowledged alert as it is.

import { ApiError } from './api.js';

// STATUS_OF_CODE gives a WebSocket reply's error the status the HTTP API
// would have answered with, so the page shows both alike.
const STATUS_OF_CODE = {
  invalid: 400, unauthorized: 401, forbidden: 403, not_found: 404, method_not_allowed: 405,
  conflict: 409, too_large: 413, rate_limited: 429, unavailable: 503, timeout: 504, internal: 500,
};

// Codes with which the socket did not do it, but the HTTP API may.
const TRY_HTTP = new Set(['rate_limited', 'unavailable']);

// replyError turns a WebSocket reply's {code, message, field} into the
// ApiError an HTTP call would have thrown.
export function replyError(error) {
  const e = error && typeof error === 'object' ? error : {};
  return new ApiError(STATUS_OF_CODE[e.code] ?? 500, { error: { code: e.code ?? 'internal', message: e.message, field: e.field } });
}

// acknowledgeAlert acknowledges alert id and resolves with {alert, via},
// via "ws" or "http". conn is the page's connection (its request() speaks
// over the WebSocket), api the HTTP client, transport the page's.
export async function acknowledgeAlert({ id, conn, api, transport, base = '/api/crowd-risk' }) {
  if (transport === 'ws' && typeof conn?.request === 'function') {
    let reply = null;
    try {
      reply = await conn.request({ op: 'acknowledge', id });
    } catch {
      reply = null; // not sent, or no answer: over HTTP then
    }
    if (reply && typeof reply === 'object') {
      if (reply.ok === true) return { alert: reply.data, via: 'ws' };
      if (!TRY_HTTP.has(reply.error?.code)) throw replyError(reply.error);
    }
  }
  const alert = await api.post(`${base}/alerts/${encodeURIComponent(id)}/acknowledge`);
  return { alert, via: 'http' };
}
