// Calls to the engine's JSON API. Writes carry the CSRF token from the
// crowdrisk_csrf cookie (the engine checks it on cookie-authenticated
// writes); errors come back as ApiError with the engine's code and field.

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'internal';
    this.field = e.field || '';
  }
}

// csrfToken reads the crowdrisk_csrf cookie from a document.cookie string.
export function csrfToken(cookies) {
  for (const part of String(cookies ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'crowdrisk_csrf') return decodeURIComponent(v.join('='));
  }
  return '';
}

export function createApi({ fetch = globalThis.fetch?.bind(globalThis), cookies = () => globalThis.document?.cookie ?? '' } = {}) {
  async function call(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') {
      const token = csrfToken(cookies());
      if (token) headers['X-CSRF-Token'] = token;
    }
    const res = await fetch(path, {
      method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    del: (path) => call('DELETE', path),
    csrf: () => csrfToken(cookies()),
  };
}
