// The emergency zone picker: a searchable list of checkbox chips in place
// of a multi-select squeezed to a row and a half. Every zone name is shown
// in full; typing filters; All/None select the shown zones. filterZones is
// pure and tested.

import { h } from './dom.js';

// filterZones: the zones whose name or id holds every word of query
// (case and accents ignored).
export function filterZones(zones, query) {
  const fold = (s) => String(s ?? '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (!words.length) return [...zones];
  return zones.filter((z) => { const hay = `${fold(z.name)} ${fold(z.id)}`; return words.every((w) => hay.includes(w)); });
}

// createZonePicker fills root (a fieldset) and returns {setZones, selected, clear}.
export function createZonePicker(root, { search, list, count, all, none }) {
  let zones = [];
  const chosen = new Set();
  const boxes = new Map();
  const sync = () => {
    count.textContent = chosen.size ? `${chosen.size} selected` : 'none selected: the whole venue';
    for (const [id, box] of boxes) box.closest('.chip').dataset.checked = String(chosen.has(id));
  };
  const filter = () => {
    const shown = new Set(filterZones(zones, search.value).map((z) => z.id));
    for (const [id, box] of boxes) box.closest('.chip').hidden = !shown.has(id);
  };
  search.addEventListener('input', filter);
  all.addEventListener('click', () => { for (const [id, box] of boxes) if (!box.closest('.chip').hidden) { box.checked = true; chosen.add(id); } sync(); });
  none.addEventListener('click', () => { for (const [id, box] of boxes) if (!box.closest('.chip').hidden) { box.checked = false; chosen.delete(id); } sync(); });
  return {
    setZones(zs) {
      if (zs.length === zones.length && zs.every((z, i) => z.id === zones[i].id)) return;
      zones = zs;
      boxes.clear();
      list.replaceChildren(...zs.map((z) => {
        const box = h('input', { type: 'checkbox', value: z.id, name: 'zoneIds' });
        box.checked = chosen.has(z.id);
        box.addEventListener('change', () => { if (box.checked) chosen.add(z.id); else chosen.delete(z.id); sync(); });
        boxes.set(z.id, box);
        return h('label', { class: 'chip', dataset: { zone: z.id } }, box, h('span', {}, z.name));
      }));
      filter();
      sync();
    },
    selected: () => zones.map((z) => z.id).filter((id) => chosen.has(id)),
    clear() { chosen.clear(); for (const b of boxes.values()) b.checked = false; search.value = ''; filter(); sync(); },
    root,
  };
}
