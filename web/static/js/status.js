// The connection-status indicator: green = connected, yellow pulsing =
// connecting or reconnecting, red = disconnected or error. It carries
// data-stream and data-state (for tests and monitoring tools), a title
// (the tooltip of the compact variant) and role="status" with aria-live, so
// that a screen reader announces changes.

const TEXT = {
  connected: 'Connected',
  connecting: 'Connecting',
  reconnecting: 'Reconnecting',
  disconnected: 'Disconnected',
  error: 'Error',
};

const TONE = {
  connected: 'ok',
  connecting: 'pending',
  reconnecting: 'pending',
  disconnected: 'bad',
  error: 'bad',
};

const STREAM_NAME = { density: 'Density stream', alerts: 'Alert stream' };

// The connection manager's own defaults, when a caller passes no settings.
const FALLBACK = { maxAttempts: 5, pollIntervalMs: 5000 };

// fmtSeconds: 5000 -> "5 s", 2500 -> "2.5 s".
export function fmtSeconds(ms) {
  const s = Math.round(ms / 100) / 10;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

// settingsText: the parts of the indicator's tooltip that depend on the
// connection's settings, read from the connection manager, never assumed.
export function settingsText(settings = {}) {
  const o = { ...FALLBACK, ...settings };
  const n = Number(o.maxAttempts);
  return {
    polling: ` (stream unavailable: polling every ${fmtSeconds(o.pollIntervalMs)}, retrying the stream in the background)`,
    stopped: ` (gave up after ${n} failed attempt${n === 1 ? '' : 's'}: use Retry)`,
  };
}

// describeState is the indicator's content for a state, without the DOM.
// settings are the connection's (maxAttempts, pollIntervalMs); shared says
// the stream is shared with the browser's other tabs.
export function describeState(state, { stream = '', mode = 'stream', settings, shared = '' } = {}) {
  let text = TEXT[state] ?? state;
  if (mode === 'polling') text = 'Polling';
  let detail = '';
  const st = settingsText(settings);
  if (mode === 'polling') detail = st.polling;
  else if (mode === 'stopped') detail = st.stopped;
  else if (state === 'reconnecting') detail = ' (retrying with backoff)';
  const name = STREAM_NAME[stream] ?? 'Stream';
  const share = shared ? ` · shared by this browser's tabs (${shared})` : '';
  return { tone: TONE[state] ?? 'bad', text, title: `${name}: ${text.toLowerCase()}${detail}${share}` };
}

// createStatusIndicator builds the element. showLabel shows the state as
// text beside the dot; compact shows the dot only (the text stays for
// screen readers and the tooltip says it all).
export function createStatusIndicator(doc, { stream, showLabel = true, compact = false } = {}) {
  const el = doc.createElement('span');
  el.className = 'conn-status' + (compact ? ' conn-compact' : '');
  el.setAttribute('role', 'status');
  el.setAttribute('aria-live', 'polite');
  el.dataset.stream = stream;
  const dot = doc.createElement('span');
  dot.className = 'conn-dot';
  dot.setAttribute('aria-hidden', 'true');
  const label = doc.createElement('span');
  label.className = 'conn-label' + (compact || !showLabel ? ' visually-hidden' : '');
  el.append(dot, label);
  const update = (state, info = {}) => {
    const d = describeState(state, { stream, ...info });
    el.dataset.state = state;
    el.dataset.tone = d.tone;
    el.dataset.mode = info.mode ?? 'stream';
    el.title = d.title;
    label.textContent = d.text;
  };
  update('disconnected');
  return { element: el, update };
}
