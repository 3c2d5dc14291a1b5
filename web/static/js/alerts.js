// The open alerts: worst first, an Acknowledge button for operators, and
// muted alerts shown with the reason they are muted. A sensor alert names
// its sensor beside the zone.

import { h, byId, fmtTime } from './dom.js';
import { alertMeta, alertSensor } from './view.js';
import { placeChildren, setText } from './keyed.js';

// One element per alert, kept while the alert is unchanged (an operator's
// focus on its Acknowledge button survives other alerts' updates) and
// rebuilt only when the alert itself changed.
const items = new Map(); // alert id -> {node, sig}
let omitted = null;
const sigOf = (a, operator, name) => [a.updatedAt, a.status, a.level, a.muted, a.notifications, a.acknowledgedBy, operator, name].join('|');

export function renderAlerts(root, { state, operator, acknowledge }) {
  const alerts = state.openAlerts();
  setText(byId('alerts-count'), String(alerts.filter((a) => a.status === 'active' && !a.muted).length));
  byId('alerts-empty').hidden = alerts.length > 0;
  const keep = new Set();
  const nodes = alerts.map((a) => {
    keep.add(a.id);
    const sig = sigOf(a, operator, state.zoneName(a.zoneId));
    let e = items.get(a.id);
    if (!e || e.sig !== sig) {
      e = { node: alertItem(a, state, operator, acknowledge), sig };
      items.set(a.id, e);
    }
    return e.node;
  });
  for (const id of [...items.keys()]) if (!keep.has(id)) items.delete(id);
  if (state.alertsOmitted > 0) {
    // The snapshot is bounded; say so rather than look complete.
    if (omitted?.n !== state.alertsOmitted) {
      omitted = { n: state.alertsOmitted, node: h('li', { class: 'alert alert-omitted muted' },
        `${state.alertsOmitted} more open alerts are not shown here (the least severe and oldest): `,
        h('a', { href: '/api/crowd-risk/alerts?status=open', target: '_blank', rel: 'noopener' }, 'the full list')) };
    }
    nodes.push(omitted.node);
  }
  placeChildren(root, nodes);
}

function alertItem(a, state, operator, acknowledge) {
  const acked = a.status === 'acknowledged';
  let button = null;
  if (operator && !acked) {
    button = h('button', { type: 'button', class: 'btn btn-ack', dataset: { ack: a.id } }, 'Acknowledge');
    // Kept across renders now: enabled again when the call is over (on
    // success the alert changed and its element is rebuilt anyway).
    button.addEventListener('click', async () => {
      button.disabled = true;
      try { await acknowledge(a.id); } finally { button.disabled = false; }
    });
  }
  const sensor = alertSensor(a);
  return h('li', { class: 'alert', dataset: { level: a.level, status: a.status, alertId: a.id, kind: a.kind, sensor, muted: a.muted ? 'true' : 'false' } },
    h('div', { class: 'alert-head' },
      h('span', { class: 'level-badge', dataset: { level: a.level } }, a.level.toUpperCase()),
      h('strong', { class: 'alert-zone' }, state.zoneName(a.zoneId)),
      h('span', { class: 'alert-kind' }, a.kind),
      sensor ? h('span', { class: 'alert-sensor', title: `Sensor ${sensor}` }, sensor) : null,
      h('time', { class: 'muted', datetime: new Date(a.timestamp).toISOString() }, fmtTime(a.timestamp))),
    h('p', { class: 'alert-msg' }, a.message),
    h('p', { class: 'alert-meta muted' },
      alertMeta(a),
      acked ? ` · acknowledged by ${a.acknowledgedBy || '?'} at ${fmtTime(a.acknowledgedAt)}` : ''),
    a.muted ? h('p', { class: 'muted-reason' }, `Muted: ${a.mutedReason || 'inhibited by a higher alert'}`) : null,
    button);
}
