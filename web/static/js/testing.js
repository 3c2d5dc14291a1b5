// The testing page: the seed's testing controls (a mock density violation,
// a threshold breach, a test alert) and a live log of every stream message
// as it arrives, to verify delivery end to end.

import { boot, API, isAdmin, showPageError } from './common.js';
import { h, byId, fmtTime } from './dom.js';

const MAX_LOG = 500;

async function main() {
  const { api, me, conn } = await boot();
  let paused = false;
  let count = 0;
  const log = byId('log');

  const append = (msg, meta) => {
    count++;
    byId('log-count').textContent = String(count);
    if (paused || (msg.type === 'density' && !byId('log-density').checked)) return;
    log.prepend(h('li', { class: 'log-entry', dataset: { type: msg.type, source: meta.source } },
      h('time', {}, fmtTime(Date.now())),
      h('span', { class: 'log-type' }, msg.type),
      h('span', { class: 'log-id muted' }, meta.id || (meta.source === 'poll' ? 'poll' : '')),
      h('code', { class: 'log-data' }, summary(msg))));
    while (log.children.length > MAX_LOG) log.lastElementChild.remove();
  };
  conn.onMessage(append);
  conn.onReset((topics, reason) => append({ type: 'reset', data: { topics, reason } }, { id: '', source: 'stream' }));
  conn.subscribe((topic, state) => append({ type: 'state', data: `${topic} ${state}` }, { id: '', source: 'client' }));

  byId('log-pause').addEventListener('click', (ev) => {
    paused = !paused;
    ev.currentTarget.setAttribute('aria-pressed', String(paused));
    ev.currentTarget.textContent = paused ? 'Resume' : 'Pause';
  });
  byId('log-clear').addEventListener('click', () => { log.replaceChildren(); count = 0; byId('log-count').textContent = '0'; });

  const zones = await api.get(`${API}/zones`);
  byId('zone').replaceChildren(...zones.map((z) => h('option', { value: z.id }, `${z.name} (${z.kind})`)));

  const controls = [
    ['trigger-violation', '/testing/violation', () => ({})],
    ['trigger-breach', '/testing/breach', () => ({})],
    ['trigger-alert', '/testing/alert', () => (byId('message').value.trim() ? { message: byId('message').value.trim() } : {})],
  ];
  for (const [id, path, extra] of controls) {
    const btn = byId(id);
    btn.disabled = !isAdmin(me);
    if (!isAdmin(me)) btn.title = 'The testing controls need the admin role';
    btn.addEventListener('click', async () => {
      const body = { zoneId: byId('zone').value, level: byId('level').value, ...extra() };
      btn.disabled = true;
      try {
        const res = await api.post(`${API}${path}`, body);
        byId('result').textContent = `${fmtTime(Date.now())} ${path}: OK\n${JSON.stringify(res, null, 2)}`;
        byId('result').dataset.status = 'ok';
        showPageError(null);
      } catch (err) {
        byId('result').textContent = `${fmtTime(Date.now())} ${path}: ${err.code ?? 'error'}: ${err.message}${err.field ? ` (${err.field})` : ''}`;
        byId('result').dataset.status = 'error';
      } finally {
        btn.disabled = false;
      }
    });
  }
  document.body.dataset.ready = 'true';
}

function summary(msg) {
  const d = msg.data;
  switch (msg.type) {
    case 'density': return `${d.zoneId} ${d.density?.toFixed?.(2)} p/m² ${d.noData ? 'NO DATA' : d.level}${Number.isFinite(d.sensors) ? ` · ${d.sensors} sensors` : ''}${d.outlier ? ' · outlier' : ''}${d.peak ? ` · peak ${d.peak.sensorId} ${d.peak.density?.toFixed?.(2)} ${d.peak.level}` : ''}`;
    case 'alert': return `${d.id} ${d.zoneId}${d.sensorId ? `/${d.sensorId}` : ''} ${d.level} ${d.kind} ${d.status}: ${d.message}`;
    case 'emergency': return d ? `active: ${d.reason}` : 'none';
    case 'state': return d;
    default: return JSON.stringify(d ?? msg).slice(0, 300);
  }
}

main().catch((err) => showPageError(err));
