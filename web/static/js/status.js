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

// describeState is the indicator's content for a state, without the DOM.
export function describeState(state, { stream = '', mode = 'stream' } = {}) {
  let text = TEXT[state] ?? state;
  if (mode === 'polling') text = 'Polling';
  let detail = '';
  if (mode === 'polling') detail = ' (stream unavailable: polling every 5 s, retrying the stream in the background)';
  else if (mode === 'stopped') detail = ' (gave up after 5 failed attempts: use Retry)';
  else if (state === 'reconnecting') detail = ' (retrying with backoff)';
  const name = STREAM_NAME[stream] ?? 'Stream';
  return { tone: TONE[state] ?? 'bad', text, title: `${name}: ${text.toLowerCase()}${detail}` };
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
