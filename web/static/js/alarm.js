// The opt-in audible alarm: a short Web Audio beep for each new critical or
// emergency alert. Off by default, remembered in localStorage; the sound is
// only ever started from a user gesture (the toggle's click, or, when the
// setting was remembered, the first click or key on the page), never by
// autoplay. With many tabs open, one tab beeps for an alert, not twenty.

export const ALARM_KEY = 'crowdrisk.alarm';
export const ALARM_LEVELS = new Set(['critical', 'emergency']);

// AlarmPolicy decides which alert messages sound, without the DOM: an
// active, unmuted critical or emergency alert the page has not sounded (or
// known) at that level, newer than the moment the page was armed (the
// alerts open at load are not news; a reconnect's snapshot repeats them).
export class AlarmPolicy {
  #known = new Set();
  #armedAt;
  constructor({ armedAt = Date.now(), graceMs = 10000 } = {}) { this.#armedAt = armedAt - graceMs; }

  // know marks alerts that were open before (the initial load).
  know(alert) { if (alert?.id) this.#known.add(`${alert.id}|${alert.level}`); }

  // shouldSound(alert) says whether this alert message is news to sound.
  shouldSound(a) {
    if (!a || typeof a.id !== 'string' || !ALARM_LEVELS.has(a.level)) return false;
    const key = `${a.id}|${a.level}`;
    if (this.#known.has(key)) return false;
    this.#known.add(key);
    if (a.status !== 'active' || a.muted === true) return false;
    const at = Number(a.updatedAt ?? a.timestamp);
    return !Number.isFinite(at) || at >= this.#armedAt;
  }
}

// readSetting / writeSetting: the remembered choice ("on" or off).
export function readSetting(storage) {
  try { return storage?.getItem(ALARM_KEY) === 'on'; } catch { return false; }
}
export function writeSetting(storage, on) {
  try { if (on) storage.setItem(ALARM_KEY, 'on'); else storage.removeItem(ALARM_KEY); } catch { /* private mode: this page only */ }
}

// toggleText: what the toggle says in each state.
export function toggleText(on, unlocked) {
  if (!on) return { text: 'Sound alarm: off', title: 'Sound a beep for each new critical or emergency alert' };
  if (!unlocked) return { text: 'Sound alarm: on (click the page to allow sound)', title: 'The browser allows sound after a click or key press on the page' };
  return { text: 'Sound alarm: on', title: 'A beep sounds for each new critical or emergency alert' };
}

// createAlarm wires the toggle button (aria-pressed) and returns
// {sound(alert)} for the page's alert messages.
export function createAlarm({ button, storage = globalThis.localStorage, win = globalThis.window, policy = new AlarmPolicy() }) {
  let on = readSetting(storage);
  let ctx = null;
  const AC = win?.AudioContext ?? win?.webkitAudioContext;
  const unlocked = () => ctx?.state === 'running';
  const show = () => {
    const t = toggleText(on, unlocked());
    button.textContent = t.text;
    button.title = t.title;
    button.setAttribute('aria-pressed', String(on));
    button.dataset.on = String(on);
  };
  // Only inside a gesture: create or resume the audio context.
  const unlock = () => {
    if (!on || !AC) return;
    try {
      ctx ??= new AC();
      if (ctx.state !== 'running') ctx.resume().then(show, show);
    } catch { /* no audio: the toggle stays, silent */ }
    show();
  };
  button.addEventListener('click', () => {
    on = !on;
    writeSetting(storage, on);
    if (on) { unlock(); beep(0.15); } else show(); // the click is the gesture: a short test beep
  });
  // A remembered "on" waits for the page's first gesture.
  const onGesture = () => { if (on && !unlocked()) unlock(); };
  win?.addEventListener?.('pointerdown', onGesture, true);
  win?.addEventListener?.('keydown', onGesture, true);
  win?.addEventListener?.('storage', (ev) => { if (ev.key === ALARM_KEY) { on = readSetting(storage); show(); } });
  show();

  function beep(seconds = 0.6) {
    if (!unlocked()) return;
    const t0 = ctx.currentTime;
    for (let i = 0; i < 2; i++) { // two tones: a control room knows it is not a phone
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = i ? 660 : 880;
      const start = t0 + i * (seconds / 2);
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + seconds / 2);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + seconds / 2 + 0.05);
    }
  }

  return {
    policy,
    get on() { return on; },
    // sound: for an alert message; one tab of the browser beeps for it.
    sound(alert) {
      if (!policy.shouldSound(alert) || !on || !unlocked()) return false;
      const locks = win?.navigator?.locks;
      if (!locks) { beep(); return true; }
      locks.request('crowdrisk-alarm', { ifAvailable: true }, async (lock) => {
        if (!lock) return;
        const key = `${alert.id}|${alert.level}`;
        const last = storage?.getItem?.('crowdrisk.alarm.last');
        if (last === key) return;
        try { storage.setItem('crowdrisk.alarm.last', key); } catch { /* fine */ }
        beep();
        await new Promise((r) => setTimeout(r, 1500));
      }).catch(() => {});
      return true;
    },
  };
}
