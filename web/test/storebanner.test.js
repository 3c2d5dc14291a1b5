import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeStore, createStoreBanner } from '../static/js/storebanner.js';

const since = Date.UTC(2026, 10, 30, 14, 2, 5);

test('a failing store: since when (HH:MM) and why', () => {
  const d = describeStore({ ok: false, since, reason: 'disk full', waiting: 12 }, { utc: true });
  assert.equal(d.text, 'History not saved since 14:02: disk full');
  assert.match(d.detail, /still shown live/);
  assert.match(d.detail, /refused until the store is back/);
});

test('nothing to show when the store is fine or the message is odd', () => {
  assert.equal(describeStore({ ok: true, waiting: 0 }), null);
  assert.equal(describeStore(null), null);
  assert.equal(describeStore(undefined), null);
  assert.equal(describeStore({}), null);
});

test('missing since or reason still says history is not saved', () => {
  assert.equal(describeStore({ ok: false }).text, 'History not saved');
  assert.equal(describeStore({ ok: false, reason: '  read-only ' }).text, 'History not saved: read-only');
});

function fakeDoc() {
  const make = () => ({
    attrs: {}, dataset: {}, children: [], className: '', textContent: '', hidden: false,
    setAttribute(k, v) { this.attrs[k] = v; }, append(...c) { this.children.push(...c); },
  });
  return { createElement: make };
}

test('the banner shows while failing, hides on recovery and on clear', () => {
  const b = createStoreBanner(fakeDoc(), { utc: true });
  assert.equal(b.element.hidden, true);
  assert.equal(b.element.attrs.role, 'alert');
  b.update({ ok: false, since, reason: 'database file deleted', waiting: 3 });
  assert.equal(b.element.hidden, false);
  assert.equal(b.element.dataset.state, 'failing');
  assert.equal(b.element.children[0].textContent, 'History not saved since 14:02: database file deleted');
  b.update({ ok: true, waiting: 0 });
  assert.equal(b.element.hidden, true);
  b.update({ ok: false, since, reason: 'disk full' });
  b.clear();
  assert.equal(b.element.hidden, true);
  assert.equal(b.element.dataset.state, 'ok');
});
