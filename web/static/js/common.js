// What every dashboard page starts with: the error handler, the API client,
// the signed-in user, the one shared stream connection and its indicators.

import { createApi, ApiError } from './api.js';
import { ErrorHandler } from './errors.js';
import { createDashboardConnection, sharedConnection } from './connection.js';
import { createStatusIndicator } from './status.js';
import { byId } from './dom.js';

export const API = '/api/crowd-risk';
const LOGIN = '/admin/crowd-risk/login';

// me asks who we are. 401 sends the browser to the login page; an engine
// without the auth routes is the loopback demo, where everyone is admin.
export async function whoAmI(api) {
  try {
    return await api.get('/api/auth/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      location.assign(`${LOGIN}?next=${encodeURIComponent(location.pathname + location.search)}`);
      return new Promise(() => {}); // the page is going away
    }
    if (err instanceof ApiError && err.status === 404) return { subject: 'local', role: 'admin', authRequired: false };
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
  // ?streams=separate uses the seed's two streams instead of one multiplexed one.
  const separate = new URLSearchParams(location.search).get('streams') === 'separate';
  const conn = sharedConnection(separate ? 'separate' : 'multiplexed', () => createDashboardConnection({ base: API, separate, errorHandler: errors }));
  mountIndicators(conn);
  return { api, errors, me, conn };
}

function mountIndicators(conn) {
  const indicators = {};
  for (const [topic, slot] of [['density', 'density-status'], ['alerts', 'alerts-status']]) {
    const ind = createStatusIndicator(document, { stream: topic, showLabel: true });
    byId(slot).replaceWith(ind.element);
    ind.element.id = slot;
    ind.update(conn.state(topic), { mode: conn.mode(topic) });
    indicators[topic] = ind;
  }
  const retry = byId('alerts-retry');
  const sync = () => { retry.hidden = conn.mode('alerts') !== 'stopped'; };
  retry.addEventListener('click', () => conn.retry('alerts'));
  conn.subscribe((topic, state, info) => {
    indicators[topic]?.update(state, info);
    sync();
  });
  sync();
}
