// The emergency banner: the venue-wide state with its reason, and the
// operator's controls to activate and end it.

import { byId, fmtDateTime } from './dom.js';
import { API, showPageError } from './common.js';
import { createZonePicker } from './picker.js';

let picker = null;
function zonePicker() {
  picker ??= createZonePicker(byId('emergency-zones'), {
    search: byId('emergency-zone-search'), list: byId('emergency-zone-list'), count: byId('emergency-zones-count'),
    all: byId('emergency-zones-all'), none: byId('emergency-zones-none'),
  });
  return picker;
}

export function renderEmergency(state, operator) {
  const e = state.emergency;
  const active = Boolean(e && e.active !== false);
  document.body.dataset.emergency = active ? 'true' : 'false';
  byId('emergency-active').hidden = !active;
  byId('emergency-form').hidden = active || !operator;
  byId('emergency-end').hidden = !operator;
  if (active) {
    byId('emergency-reason').textContent = e.reason || '(no reason given)';
    const zones = (e.zoneIds ?? []).map((z) => state.zoneName(z)).join(', ');
    byId('emergency-meta').textContent = `${zones ? `zones: ${zones} · ` : ''}by ${e.activatedBy || '?'} at ${fmtDateTime(e.activatedAt)}`;
  }
  zonePicker().setZones(state.zones);
}

export function bindEmergencyControls({ api, operator, onChange }) {
  if (!operator) return;
  byId('emergency-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const reason = byId('emergency-reason-input').value.trim();
    const zoneIds = zonePicker().selected();
    try {
      onChange(await api.post(`${API}/emergency`, { reason, zoneIds }));
      byId('emergency-reason-input').value = '';
      zonePicker().clear();
      showPageError(null);
    } catch (err) { showPageError(err); }
  });
  // Ending an emergency takes two clicks: a stray click must not end it.
  const end = byId('emergency-end');
  let armed = null;
  end.addEventListener('click', async () => {
    if (!armed) {
      end.textContent = 'Click again to end';
      end.dataset.armed = 'true';
      armed = setTimeout(() => { armed = null; end.textContent = 'End emergency'; delete end.dataset.armed; }, 5000);
      return;
    }
    clearTimeout(armed); armed = null;
    end.textContent = 'End emergency'; delete end.dataset.armed;
    try {
      await api.del(`${API}/emergency`);
      onChange(null);
      showPageError(null);
    } catch (err) { showPageError(err); }
  });
}
