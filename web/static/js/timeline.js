// The incident timeline: level changes, alerts, acknowledgements and
// emergency changes, newest first, from the incident log and live messages.

import { h, fmtDateTime } from './dom.js';

const SHOWN = 100;

export function renderTimeline(root, timeline, state) {
  const items = timeline.entries.slice(0, SHOWN).map((i) => h('li', { class: 'incident', dataset: { kind: i.kind, level: i.level ?? '' } },
    h('time', { class: 'muted' }, fmtDateTime(i.timestamp)),
    h('span', { class: 'incident-kind' }, i.kind),
    i.zoneId ? h('span', { class: 'incident-zone' }, state.zoneName(i.zoneId)) : null,
    h('span', { class: 'incident-msg' }, i.message),
    i.actor ? h('span', { class: 'incident-actor muted' }, `— ${i.actor}`) : null));
  if (!items.length) items.push(h('li', { class: 'empty' }, 'Nothing recorded yet.'));
  root.replaceChildren(...items);
}
