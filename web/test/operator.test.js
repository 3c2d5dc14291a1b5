import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmPolicy, readSetting, writeSetting, toggleText, ALARM_KEY } from '../static/js/alarm.js';
import { filterZones } from '../static/js/picker.js';
import { levelLabel, LEVEL_SHAPE, NO_DATA } from '../static/js/view.js';
import { layoutLabels, overlaps, inside } from '../static/js/venue-map.js';
import { readFileSync } from 'node:fs';

test('alarm: only new active critical and emergency alerts sound, once per level', () => {
  const p = new AlarmPolicy({ armedAt: 100000, graceMs: 0 });
  const a = (id, level, extra = {}) => ({ id, level, status: 'active', updatedAt: 200000, ...extra });
  p.know(a('old', 'critical'));
  assert.equal(p.shouldSound(a('old', 'critical')), false, 'open at load: not news');
  assert.equal(p.shouldSound(a('w', 'warning')), false);
  assert.equal(p.shouldSound(a('c', 'critical')), true);
  assert.equal(p.shouldSound(a('c', 'critical')), false, 'a repeat (a reconnect\'s snapshot) is silent');
  assert.equal(p.shouldSound(a('c', 'emergency')), true, 'an escalation sounds');
  assert.equal(p.shouldSound(a('m', 'critical', { muted: true })), false);
  assert.equal(p.shouldSound(a('k', 'critical', { status: 'acknowledged' })), false);
  assert.equal(p.shouldSound(a('s', 'critical', { updatedAt: 50000 })), false, 'older than the page');
});

test('alarm setting: off by default, remembered', () => {
  const mem = new Map();
  const storage = { getItem: (k) => mem.get(k) ?? null, setItem: (k, v) => mem.set(k, v), removeItem: (k) => mem.delete(k) };
  assert.equal(readSetting(storage), false);
  writeSetting(storage, true);
  assert.equal(mem.get(ALARM_KEY), 'on');
  assert.equal(readSetting(storage), true);
  writeSetting(storage, false);
  assert.equal(readSetting(storage), false);
  assert.equal(readSetting({ getItem: () => { throw new Error('denied'); } }), false);
  assert.match(toggleText(true, false).text, /click the page/);
});

test('zone picker filter: words anywhere in the name or id, case and accents ignored', () => {
  const zones = [{ id: 'gate-a', name: 'Gate A (west, station side)' }, { id: 'pitch-front', name: 'Pitch – front of stage' }, { id: 'cafe', name: 'Café terrace' }];
  assert.deepEqual(filterZones(zones, 'west gate').map((z) => z.id), ['gate-a']);
  assert.deepEqual(filterZones(zones, 'CAFE').map((z) => z.id), ['cafe']);
  assert.equal(filterZones(zones, '  ').length, 3);
});

test('levels by shape and text: each its own glyph', () => {
  assert.equal(levelLabel('warning'), '▲ WARNING');
  assert.equal(levelLabel(NO_DATA), '○ NO DATA');
  assert.equal(new Set(Object.values(LEVEL_SHAPE)).size, Object.keys(LEVEL_SHAPE).length);
});

test('demo venue map: every zone labelled inside or by a marker, no two boxes overlap, labels inside their zones', () => {
  const venue = JSON.parse(readFileSync(new URL('../../internal/venue/demo.json', import.meta.url)));
  const zones = venue.zones.filter((z) => z.polygon);
  const xs = zones.flatMap((z) => z.polygon.map((p) => p[0]));
  const fontSize = (Math.max(...xs) - Math.min(...xs)) / 45;
  const layout = layoutLabels(zones, fontSize);
  assert.equal(layout.size, zones.length);
  const boxes = [...layout.entries()];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      assert.ok(!overlaps(boxes[i][1].box, boxes[j][1].box), `${boxes[i][0]} overlaps ${boxes[j][0]}`);
    }
  }
  for (const [id, l] of layout) {
    if (l.kind !== 'inside') continue;
    const poly = zones.find((z) => z.id === id).polygon;
    for (const [x, y] of [[l.box.x0 + 1e-3, l.box.y0 + 1e-3], [l.box.x1 - 1e-3, l.box.y1 - 1e-3]]) assert.ok(inside(poly, x, y), `${id} label leaves its zone`);
  }
  const markers = boxes.filter(([, l]) => l.kind === 'marker').map(([id]) => id);
  for (const small of ['gate-a', 'stairs-station', 'station-platform']) assert.ok(layout.has(small), small);
  assert.deepEqual(boxes.filter(([, l]) => l.kind === 'marker').map(([, l]) => l.n).sort(), markers.map((_, i) => i + 1));
  // The big zones keep a label of their own.
  for (const big of ['fan-zone', 'stand-north', 'stand-south', 'pitch-rear']) assert.equal(layout.get(big).kind, 'inside', big);
});
