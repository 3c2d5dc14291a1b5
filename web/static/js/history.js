// A zone's density history for its chart, reaching back into the stored
// history: GET /zones/{id}/history?from=<ms>&to=<ms> (every reading within
// the raw retention, one-minute aggregates beyond) where the engine has it,
// and the older GET /density/history?zoneId=&minutes= (the engine's
// in-memory window) where it answers 404. Pure but for api.get, so it is
// tested under Node.

import { ApiError } from './api.js';

// normalizeHistory turns either answer into readings {timestamp, density,
// level}, oldest first: an array of readings (/density/history), or
// {resolution: "raw"|"minute", points} (/zones/{id}/history), where a
// minute's density is its {min, max, mean}: the chart draws the mean and
// the minute's worst level.
export function normalizeHistory(answer) {
  const points = Array.isArray(answer) ? answer : (Array.isArray(answer?.points) ? answer.points : []);
  const out = [];
  for (const p of points) {
    const t = Number(p?.timestamp);
    const d = typeof p?.density === 'object' && p.density !== null ? Number(p.density.mean) : Number(p?.density);
    if (!Number.isFinite(t) || !Number.isFinite(d) || p?.noData === true) continue;
    out.push({ zoneId: p.zoneId, timestamp: t, density: d, level: p.level, ...(typeof p?.density === 'object' ? { max: p.density.max } : {}) });
  }
  out.sort((a, b) => a.timestamp - b.timestamp);
  return out;
}

// HistorySource remembers whether the engine has the stored history, so
// that an older engine is asked the old way without a 404 per zone each time.
export class HistorySource {
  #api; #base; #stored = null; // null: not known yet
  constructor(api, base = '/api/crowd-risk') { this.#api = api; this.#base = base; }
  get stored() { return this.#stored; }

  // load returns the zone's readings from now - minutes to now.
  async load(zoneId, minutes, now = Date.now()) {
    const id = encodeURIComponent(zoneId);
    if (this.#stored !== false) {
      try {
        let from = now - minutes * 60000;
        const out = [];
        for (let page = 0; page < 10; page++) {
          const ans = await this.#api.get(`${this.#base}/zones/${id}/history?from=${Math.floor(from)}&to=${Math.floor(now)}`);
          this.#stored = true;
          out.push(...normalizeHistory(ans));
          if (!ans?.truncated || !Number.isFinite(ans?.next) || ans.next <= from) break;
          from = ans.next;
        }
        return out.map((r) => ({ ...r, zoneId }));
      } catch (err) {
        if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
        // 404: an engine without the stored history (or a zone it does
        // not store): the in-memory window. An unknown zone is 404 there too.
        if (this.#stored === null) this.#stored = false;
      }
    }
    const old = await this.#api.get(`${this.#base}/density/history?zoneId=${id}&minutes=${Math.ceil(minutes)}`);
    return normalizeHistory(old).map((r) => ({ ...r, zoneId }));
  }
}
