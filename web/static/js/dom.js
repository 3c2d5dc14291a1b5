// Small DOM and formatting helpers shared by the pages. Elements are built
// with h() so that no HTML string is ever parsed from data (no injection).

export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const byId = (id) => document.getElementById(id);

export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function fmtDateTime(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${fmtTime(ms)}`;
}

export const fmtNum = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
export const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString() : '–');

// fmtForecast: "critical in 9 min" (the operator's 15-minute horizon).
export function fmtForecast(f) {
  if (!f || !Number.isFinite(f.minutes)) return '';
  const m = f.minutes < 1 ? '< 1' : String(Math.round(f.minutes));
  return `${f.level} in ${m} min`;
}

export function fmtTrend(perMin) {
  if (!Number.isFinite(perMin) || Math.abs(perMin) < 0.005) return '→ steady';
  const arrow = perMin > 0 ? '↑' : '↓';
  return `${arrow} ${perMin > 0 ? '+' : ''}${perMin.toFixed(2)} p/m²/min`;
}

// A render scheduler: many stream messages per frame, one repaint. A hidden
// (or occluded) tab gets no animation frames, so a timer backs the frame up:
// the page must be current the moment an operator looks at it. A hidden tab
// repaints at most once per hiddenMs (twenty background tabs repainting
// every message would cost a core), and at once when it is shown.
export function scheduler(render, fallbackMs = 250, hiddenMs = 1000) {
  let queued = false;
  let frame = null;
  let timer = null;
  const run = () => {
    if (!queued) return;
    queued = false;
    if (frame !== null) globalThis.cancelAnimationFrame?.(frame);
    clearTimeout(timer);
    frame = timer = null;
    render();
  };
  globalThis.document?.addEventListener?.('visibilitychange', () => { if (!globalThis.document.hidden) run(); });
  return () => {
    if (queued) return;
    queued = true;
    const hidden = Boolean(globalThis.document?.hidden);
    if (globalThis.requestAnimationFrame && !hidden) frame = requestAnimationFrame(run);
    timer = setTimeout(run, frame !== null ? fallbackMs : (hidden ? hiddenMs : 0));
  };
}
