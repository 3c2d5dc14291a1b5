// The monitor page: every zone at a glance, the venue map, open alerts with
// Acknowledge, the emergency banner and the incident timeline, all kept
// live by the one shared stream connection.

import { boot, API, canOperate, showPageError, connectionConfig } from './common.js';
import { acknowledgeAlert } from './ack.js';
import { DashboardState, Timeline } from './state.js';
import { h, byId, scheduler } from './dom.js';
import { renderZones, renderSummary, tickAges } from './zones.js';
import { renderMap } from './venue-map.js';
import { renderAlerts } from './alerts.js';
import { renderEmergency, bindEmergencyControls } from './emergency.js';
import { renderTimeline } from './timeline.js';
import { createStoreBanner } from './storebanner.js';
import { createNotificationsLine } from './notifications.js';
import { HistorySource } from './history.js';
import { createAlarm } from './alarm.js';

// The charts show the last 15 or 60 minutes (a toggle, remembered); the
// page keeps an hour of points, seeded from the stored history.
const HISTORY_MINUTES = 60;
const WINDOW_KEY = 'crowdrisk.chartMinutes';

function readWindow() {
  try { return localStorage.getItem(WINDOW_KEY) === '60' ? 60 : 15; } catch { return 15; }
}

async function main() {
  const { api, errors, me, conn } = await boot();
  const state = new DashboardState({ historyMinutes: HISTORY_MINUTES });
  const timeline = new Timeline();
  const operator = canOperate(me);
  const { transport } = connectionConfig(location.search);
  const dirty = new Set();

  let windowMinutes = readWindow();
  const alarm = createAlarm({ button: byId('alarm-toggle') });
  const ctx = {
    state, operator,
    get windowMs() { return windowMinutes * 60000; },
    acknowledge: async (id) => {
      try {
        // Over the WebSocket when that is the page's transport (HTTP when
        // the socket cannot take it); data-ack-via says which, for the tests.
        const { alert: a, via } = await acknowledgeAlert({ id, conn, api, transport, base: API });
        document.body.dataset.ackVia = via;
        state.setAlert(a);
        timeline.fromMessage({ type: 'alert', data: a }, (z) => state.zoneName(z));
        dirty.add('alerts').add('timeline');
        repaint();
        showPageError(null);
      } catch (err) {
        showPageError(err);
      }
    },
  };

  const repaint = scheduler(() => {
    try {
      if (dirty.has('density')) { renderZones(byId('zones'), ctx); renderSummary(byId('zones-summary'), state); renderMap(byId('venue-map'), state); }
      if (dirty.has('alerts')) renderAlerts(byId('alerts'), ctx);
      if (dirty.has('emergency')) renderEmergency(state, operator);
      if (dirty.has('timeline')) renderTimeline(byId('timeline'), timeline, state);
    } catch (err) {
      errors.handleDataStreamError(err, 'render', {});
    }
    dirty.clear();
  });
  const markAll = () => { ['density', 'alerts', 'emergency', 'timeline'].forEach((d) => dirty.add(d)); repaint(); };
  // A "no data" zone's age counts up every second with no message at all.
  setInterval(() => tickAges(document), 1000);

  const storeBanner = createStoreBanner(document);
  byId('page-error').after(storeBanner.element);
  storeBanner.element.after(createNotificationsLine(document, api).element);

  // Subscribe before anything is awaited: the snapshot may already be on its way.
  conn.onReset((topics) => { state.dropTopics(topics); if (topics.includes('alerts')) storeBanner.clear(); markAll(); });
  conn.onMessage((msg, meta) => {
    if (msg.type === 'store') { storeBanner.update(msg.data); return; }
    if (msg.type === 'alert') {
      if (meta?.source === 'replay') alarm.policy.know(msg.data);
      else alarm.sound(msg.data);
    }
    const prevEmergency = state.emergency;
    const changed = state.apply(msg);
    if (!changed) return;
    dirty.add({ density: 'density', alert: 'alerts', emergency: 'emergency' }[changed]);
    if (changed === 'alert' || changed === 'emergency') {
      if (timeline.fromMessage(msg, (z) => state.zoneName(z), prevEmergency)) dirty.add('timeline');
      if (changed === 'emergency') dirty.add('density'); // the map outlines zones in emergency
    }
    repaint();
  });

  for (const input of document.querySelectorAll('input[name="chart-window"]')) {
    input.checked = Number(input.value) === windowMinutes;
    input.addEventListener('change', () => {
      if (!input.checked) return;
      windowMinutes = Number(input.value);
      try { localStorage.setItem(WINDOW_KEY, String(windowMinutes)); } catch { /* this page only */ }
      dirty.add('density');
      repaint();
    });
  }

  bindEmergencyControls({ api, operator, onChange: (e) => { const prev = state.emergency; state.emergency = e; timeline.fromMessage({ type: 'emergency', data: e }, (z) => state.zoneName(z), prev); markAll(); } });

  try {
    const venue = await api.get(`${API}/venue`).catch(async () => ({ name: '', zones: await api.get(`${API}/zones`) }));
    state.setZones(venue.zones);
    // The engine's title may already name the venue.
    if (venue.name && !document.title.includes(venue.name)) byId('venue-name').textContent = venue.name;
    markAll();
    const [alerts, emergency, incidents] = await Promise.all([
      api.get(`${API}/alerts?status=open`).catch(() => []),
      api.get(`${API}/emergency`).catch(() => null),
      api.get(`${API}/incidents?since=${Date.now() - 12 * 3600 * 1000}`).catch(() => []),
    ]);
    for (const a of alerts ?? []) { state.setAlert(a); alarm.policy.know(a); }
    if (emergency && state.emergency === null) state.emergency = emergency;
    timeline.load(incidents);
    markAll();
    // Seed the charts from the stored history (or the engine's in-memory
    // window, on an engine without it); live readings extend them. The
    // shown window first, the rest of the hour after.
    const history = new HistorySource(api, API);
    const seed = async (minutes) => {
      await Promise.all(state.zones.map(async (z) => {
        const hist = await history.load(z.id, minutes).catch(() => []);
        state.seedHistory(z.id, hist);
      }));
      dirty.add('density');
      repaint();
    };
    await seed(windowMinutes);
    document.body.dataset.history = history.stored ? 'stored' : 'memory';
    if (windowMinutes < HISTORY_MINUTES) seed(HISTORY_MINUTES).catch(() => {});
  } catch (err) {
    showPageError(err);
    errors.handleDataStreamError(err, 'api', { during: 'initial load' });
  }
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  showPageError(err);
  document.body.append(h('p', { class: 'fatal' }, String(err?.message ?? err)));
});
