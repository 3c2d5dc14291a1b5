// The notifications status line: whether the people outside the control
// room are being told. It reads GET /api/crowd-risk/notifications/status
// (internal/notify) every few seconds and says, in one line, "Notifications:
// 3 receivers OK" or which receiver is failing, how many changes wait and
// for how long. Nothing is shown when no receiver is configured.

// ago formats seconds as "45 s", "12 min", "3 h".
function ago(s) {
  if (!Number.isFinite(s) || s < 60) return `${Math.max(0, Math.round(s || 0))} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

// describeNotifications is the line for a status body, or null to hide it.
// state is 'ok' or 'failing'.
export function describeNotifications(status) {
  if (!status || status.enabled !== true || !Array.isArray(status.receivers) || status.receivers.length === 0) return null;
  const rs = status.receivers;
  const bad = rs.filter((r) => r.failing);
  const waiting = rs.reduce((n, r) => n + (Number(r.pending) || 0), 0);
  const oldest = Math.max(0, ...rs.map((r) => Number(r.oldestPendingSeconds) || 0));
  if (bad.length === 0) {
    const wait = waiting > 0 ? `, ${waiting} sending` : '';
    return { state: 'ok', text: `Notifications: ${rs.length} receiver${rs.length === 1 ? '' : 's'} OK${wait}` };
  }
  const names = bad.map((r) => r.name).join(', ');
  const why = bad[0].lastError ? ` (${bad[0].lastError})` : '';
  const wait = waiting > 0 ? `; ${waiting} change${waiting === 1 ? '' : 's'} waiting, oldest ${ago(oldest)}` : '';
  return { state: 'failing', text: `Notifications failing: ${names}${why}${wait}. Retrying.` };
}

// createNotificationsLine builds the (hidden) element and polls the status
// with api.get every `every` ms. stop() ends the polling.
export function createNotificationsLine(doc, api, { path = '/api/crowd-risk/notifications/status', every = 10000 } = {}) {
  const el = doc.createElement('p');
  el.className = 'notifications-status';
  el.setAttribute('role', 'status');
  el.hidden = true;
  const update = (status) => {
    const d = describeNotifications(status);
    el.hidden = d === null;
    el.dataset.state = d?.state ?? 'off';
    el.textContent = d?.text ?? '';
  };
  let timer = null;
  const poll = async () => {
    try { update(await api.get(path)); } catch { /* the page shows API failures elsewhere */ }
  };
  poll();
  timer = setInterval(poll, every);
  return { element: el, update, stop: () => clearInterval(timer) };
}
