// The open alerts: worst first, an Acknowledge button for operators, and
// muted alerts shown with the reason they are muted. A sensor alert names
// its sensor beside the zone.

import { h, byId, fmtTime } from './dom.js';
import { alertMeta, alertSensor } from './view.js';

export function renderAlerts(root, { state, operator, acknowledge }) {
  const alerts = state.openAlerts();
  byId('alerts-count').textContent = String(alerts.filter((a) => a.status === 'active' && !a.muted).length);
  byId('alerts-empty').hidden = alerts.length > 0;
  const items = alerts.map((a) => alertItem(a, state, operator, acknowledge));
  if (state.alertsOmitted > 0) {
    // The snapshot is bounded; say so rather than look complete.
    items.push(h('li', { class: 'alert alert-omitted muted' },
      `${state.alertsOmitted} more open alerts are not shown here (the least severe and oldest): `,
      h('a', { href: '/api/crowd-risk/alerts?status=open', target: '_blank', rel: 'noopener' }, 'the full list')));
  }
  root.replaceChildren(...items);
}

function alertItem(a, state, operator, acknowledge) {
  const acked = a.status === 'acknowledged';
  let button = null;
  if (operator && !acked) {
    button = h('button', { type: 'button', class: 'btn btn-ack', dataset: { ack: a.id } }, 'Acknowledge');
    button.addEventListener('click', () => { button.disabled = true; acknowledge(a.id); });
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
