// The dashboard's picture of the venue, built from the API's answers and the
// stream's messages. Pure data, no DOM, so it is tested under Node.

export const LEVELS = ['normal', 'watch', 'warning', 'critical', 'emergency'];
export const levelRank = (l) => Math.max(0, LEVELS.indexOf(l));

export class DashboardState {
  zones = [];
  zoneById = new Map();
  readings = new Map(); // zoneId -> latest DensityReading
  history = new Map(); // zoneId -> [{t, v}] oldest first, at most one point per second
  alerts = new Map(); // alert id -> latest Alert (open ones only)
  emergency = null;
  // alertsOmitted: open alerts the last snapshot left out (it carries the
  // 1,000 most severe, newest); the rest are in the alert list's API.
  alertsOmitted = 0;
  historyMs;

  constructor({ historyMinutes = 10 } = {}) {
    this.historyMs = historyMinutes * 60000;
  }

  setZones(zones) {
    this.zones = zones ?? [];
    this.zoneById = new Map(this.zones.map((z) => [z.id, z]));
  }

  zoneName(id) { return this.zoneById.get(id)?.name ?? id; }

  // apply folds one stream message in and says what changed:
  // "density" | "alert" | "emergency" | null.
  apply(msg) {
    switch (msg?.type) {
      case 'density': return this.addReading(msg.data) ? 'density' : null;
      case 'alert': return this.setAlert(msg.data) ? 'alert' : null;
      case 'emergency': this.emergency = msg.data?.active === false ? null : (msg.data ?? null); return 'emergency';
      case 'snapshot-limit': this.alertsOmitted = Number(msg.data?.omitted) || 0; return 'alert';
      default: return null;
    }
  }

  // addReading keeps the newest reading and extends the history; an older
  // reading than the latest (a replay overlapping a poll) is ignored, but
  // any reading from the engine replaces one only known from the history.
  // A noData reading carries the last values and their time, so it is
  // never older than what it replaces.
  addReading(r) {
    if (!r || typeof r.zoneId !== 'string') return false;
    const cur = this.readings.get(r.zoneId);
    if (cur && !cur.fromHistory && r.timestamp < cur.timestamp) return false;
    this.readings.set(r.zoneId, r);
    this.#push(r.zoneId, r.timestamp, r.density);
    return true;
  }

  // seedHistory merges readings from /density/history under the live ones.
  seedHistory(zoneId, readings) {
    const live = this.history.get(zoneId) ?? [];
    const seeded = (readings ?? []).map((r) => ({ t: r.timestamp, v: r.density }));
    const firstLive = live.length ? live[0].t : Infinity;
    const merged = seeded.filter((p) => p.t < firstLive - 999).concat(live);
    this.history.set(zoneId, merged);
    this.#trim(zoneId);
    // The history's last reading fills an empty card, flagged: it is what
    // the zone read, not what it reads now, until the snapshot or a live
    // reading says so (view.js shows it as "no data" with its age).
    const last = readings?.[readings.length - 1];
    if (last && !this.readings.has(zoneId)) this.readings.set(zoneId, { ...last, fromHistory: true });
  }

  #push(zoneId, t, v) {
    const h = this.history.get(zoneId) ?? [];
    const last = h[h.length - 1];
    if (last && t - last.t < 1000) last.v = v; // at most one point per second
    else h.push({ t, v });
    this.history.set(zoneId, h);
    this.#trim(zoneId);
  }

  #trim(zoneId) {
    const h = this.history.get(zoneId);
    if (!h?.length) return;
    const from = h[h.length - 1].t - this.historyMs;
    let i = 0;
    while (i < h.length && h[i].t < from) i++;
    if (i) h.splice(0, i);
  }

  setAlert(a) {
    if (!a || typeof a.id !== 'string') return false;
    const cur = this.alerts.get(a.id);
    if (cur && a.updatedAt < cur.updatedAt) return false;
    if (a.status === 'resolved') this.alerts.delete(a.id);
    else this.alerts.set(a.id, a);
    return true;
  }

  // openAlerts: the worst first, then the newest.
  openAlerts() {
    return [...this.alerts.values()].sort((a, b) =>
      (a.muted === true) - (b.muted === true)
      || (a.status === 'acknowledged') - (b.status === 'acknowledged')
      || levelRank(b.level) - levelRank(a.level)
      || b.timestamp - a.timestamp);
  }

  // dropTopics forgets what a reset says is stale; the snapshot refills it.
  dropTopics(topics) {
    if (topics.includes('density')) {
      this.readings.clear();
      this.history.clear();
    }
    if (topics.includes('alerts')) {
      this.alerts.clear();
      this.emergency = null;
      this.alertsOmitted = 0;
    }
  }
}

// Timeline turns the incident log and live alert/emergency messages into
// one list, newest first, without listing the same change twice (the
// snapshot sent on every connect repeats the open alerts).
export class Timeline {
  entries = []; // newest first
  #keys = new Set();
  #loadedUntil = 0; // newest timestamp of the loaded log: older changes are in it
  #max;

  constructor({ max = 300 } = {}) { this.#max = max; }

  static alertKey(alertId, status, level) { return `${alertId}|${status}|${level ?? ''}`; }

  load(incidents) {
    const list = [...(incidents ?? [])].sort((a, b) => b.timestamp - a.timestamp || (b.seq ?? 0) - (a.seq ?? 0));
    this.entries = list.slice(0, this.#max);
    this.#loadedUntil = list.length ? list[0].timestamp : 0;
    this.#keys.clear();
    for (const i of list) {
      if (!i.alertId) continue;
      const status = { alert: 'active', acknowledge: 'acknowledged', resolve: 'resolved' }[i.kind];
      if (status) this.#keys.add(Timeline.alertKey(i.alertId, status, status === 'active' ? i.level : ''));
    }
  }

  get keyCount() { return this.#keys.size; }

  // pruneKeys bounds the keys of changes already listed: beyond four times
  // the list's length they are rebuilt from the entries still listed (a
  // repeat of a change that has left the list is older than all it shows,
  // so it would fall off the end again anyway).
  #pruneKeys() {
    if (this.#keys.size <= this.#max * 4) return;
    this.#keys.clear();
    for (const e of this.entries) {
      if (!e.alertId) continue;
      const status = { alert: 'active', acknowledge: 'acknowledged', resolve: 'resolved' }[e.kind];
      if (status) this.#keys.add(Timeline.alertKey(e.alertId, status, status === 'active' ? e.level : ''));
    }
  }

  // fromMessage adds an entry for a change the log has not shown yet and
  // returns it (or null). prevEmergency is the emergency state before msg.
  fromMessage(msg, zoneName = (id) => id, prevEmergency = null, now = Date.now()) {
    let entry = null;
    if (msg?.type === 'alert' && msg.data?.id) {
      // One message may carry several changes: an acknowledgement that also
      // resolves the alert (its condition has cleared) is two entries.
      const a = msg.data;
      if (a.updatedAt <= this.#loadedUntil) return null;
      const steps = [];
      if (a.status === 'active') steps.push(['alert', 'active', a.level, a.updatedAt, 'engine', 'raised']);
      if (a.acknowledgedAt || a.status === 'acknowledged') {
        steps.push(['acknowledge', 'acknowledged', '', a.acknowledgedAt || a.updatedAt, a.acknowledgedBy ?? '', `acknowledged by ${a.acknowledgedBy || '?'}`]);
      }
      if (a.status === 'resolved') steps.push(['resolve', 'resolved', '', a.resolvedAt || a.updatedAt, 'engine', 'resolved']);
      for (const [kind, status, level, timestamp, actor, verb] of steps) {
        const key = Timeline.alertKey(a.id, status, level);
        if (this.#keys.has(key)) continue;
        this.#keys.add(key);
        entry = {
          timestamp, kind, zoneId: a.zoneId, alertId: a.id, level: a.level, actor,
          message: `${a.level} ${a.kind} alert ${verb} in ${zoneName(a.zoneId)}: ${a.message}`, live: true,
        };
        this.entries.unshift(entry);
      }
      if (!entry) return null;
      this.entries.sort((x, y) => y.timestamp - x.timestamp);
      if (this.entries.length > this.#max) this.entries.length = this.#max;
      this.#pruneKeys();
      return entry;
    } else if (msg?.type === 'emergency') {
      const e = msg.data?.active === false ? null : msg.data;
      if (e) {
        // The snapshot repeats the current emergency on every connect.
        if (prevEmergency?.activatedAt === e.activatedAt || e.activatedAt <= this.#loadedUntil) return null;
        entry = { timestamp: e.activatedAt, kind: 'emergency', actor: e.activatedBy, message: `Emergency mode activated: ${e.reason}`, live: true };
      } else {
        if (!prevEmergency) return null;
        entry = { timestamp: now, kind: 'emergency', actor: '', message: 'Emergency mode ended', live: true };
      }
    }
    if (!entry) return null;
    this.entries.unshift(entry);
    this.entries.sort((a, b) => b.timestamp - a.timestamp);
    if (this.entries.length > this.#max) this.entries.length = this.#max;
    return entry;
  }
}
