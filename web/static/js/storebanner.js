// The store banner: while the engine cannot save to its store, alerts are
// still shown live but not yet kept, and operator actions are refused
// (503). The control room must know both, so a banner says since when and
// why ("History not saved since 14:02: disk full") until the engine's
// "store" message says it is back. The message is stream state: it comes
// in the snapshot of a screen that connects during the outage too.

const pad = (n) => String(n).padStart(2, '0');

// clock formats ms since the epoch as HH:MM, local time unless utc.
function clock(ms, utc) {
  const d = new Date(ms);
  return utc ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// describeStore is the banner's content for the data of a "store" message
// ({ok, since, reason, waiting}), or null when there is nothing to show.
export function describeStore(data, { utc = false } = {}) {
  if (!data || data.ok !== false) return null;
  const since = Number.isFinite(data.since) && data.since > 0 ? ` since ${clock(data.since, utc)}` : '';
  const reason = typeof data.reason === 'string' && data.reason.trim() ? `: ${data.reason.trim()}` : '';
  // data.waiting is not shown: the message comes when the state changes,
  // so its count is that moment's and would go stale on the screen.
  return {
    text: `History not saved${since}${reason}`,
    detail: 'Alerts are still shown live; acknowledging and emergency controls are refused until the store is back.',
  };
}

// createStoreBanner builds the (hidden) element; update(data) shows or
// hides it for a "store" message, clear() hides it (a reset of the alert
// topic: the snapshot that follows says again if the store still fails).
export function createStoreBanner(doc, opts = {}) {
  const el = doc.createElement('div');
  el.className = 'store-banner';
  el.setAttribute('role', 'alert');
  el.hidden = true;
  const title = doc.createElement('strong');
  const detail = doc.createElement('span');
  detail.className = 'store-banner-detail';
  el.append(title, detail);
  const update = (data) => {
    const d = describeStore(data, opts);
    el.hidden = d === null;
    el.dataset.state = d === null ? 'ok' : 'failing';
    title.textContent = d?.text ?? '';
    detail.textContent = d ? ` ${d.detail}` : '';
  };
  return { element: el, update, clear: () => update(null) };
}
