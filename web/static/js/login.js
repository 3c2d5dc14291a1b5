// The login page: paste a token, get a session cookie. Only needed when
// the engine runs with a JWT secret (/api/auth/me says authRequired).

import { createApi, ApiError } from './api.js';
import { byId } from './dom.js';

const MONITOR = '/admin/crowd-risk/monitor';

// next is where to go after signing in: only a local path, never another site.
function nextPath() {
  const n = new URLSearchParams(location.search).get('next') ?? '';
  return n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') ? n : MONITOR;
}

async function main() {
  const api = createApi();
  const status = byId('login-status');
  const cont = byId('login-continue');
  cont.href = nextPath();
  let me = null;
  try {
    me = await api.get('/api/auth/me');
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 404)) status.textContent = `Cannot reach the engine: ${err.message}`;
  }
  if (me && !me.authRequired) {
    status.textContent = 'This engine runs without sign-in (loopback demo): everyone is admin.';
    cont.hidden = false;
    return;
  }
  if (me) {
    status.textContent = `Signed in as ${me.subject} (${me.role}). Paste another token to switch.`;
    cont.hidden = false;
  } else {
    status.textContent = 'Paste an access token (from `crowdrisk token --role operator`).';
  }
  const form = byId('login-form');
  form.hidden = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = byId('login-error');
    err.hidden = true;
    try {
      await api.post('/api/auth/session', { token: byId('token').value.trim() });
      location.assign(nextPath());
    } catch (e) {
      err.textContent = e.status === 401 ? 'That token was not accepted (expired, or signed with another key).' : e.message;
      err.hidden = false;
    }
  });
}

main();
