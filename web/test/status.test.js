import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeState, createStatusIndicator } from '../static/js/status.js';

test('colours: green connected, yellow connecting/reconnecting, red disconnected/error', () => {
  assert.equal(describeState('connected').tone, 'ok');
  assert.equal(describeState('connecting').tone, 'pending');
  assert.equal(describeState('reconnecting').tone, 'pending');
  assert.equal(describeState('disconnected').tone, 'bad');
  assert.equal(describeState('error').tone, 'bad');
});

test('titles name the stream and explain polling and giving up', () => {
  assert.equal(describeState('connected', { stream: 'density' }).title, 'Density stream: connected');
  assert.match(describeState('reconnecting', { stream: 'density', mode: 'polling' }).title, /polling every 5 s/);
  assert.match(describeState('error', { stream: 'alerts', mode: 'stopped' }).title, /Retry/);
});

// A minimal element: enough DOM for the indicator's attributes.
function fakeDoc() {
  const make = () => ({
    attrs: {}, dataset: {}, children: [], className: '', title: '', textContent: '',
    setAttribute(k, v) { this.attrs[k] = v; }, append(...c) { this.children.push(...c); },
  });
  return { createElement: make };
}

test('the element carries data-stream, data-state, title, role and aria-live', () => {
  const ind = createStatusIndicator(fakeDoc(), { stream: 'alerts', compact: true });
  assert.equal(ind.element.dataset.stream, 'alerts');
  assert.equal(ind.element.dataset.state, 'disconnected');
  assert.equal(ind.element.attrs.role, 'status');
  assert.equal(ind.element.attrs['aria-live'], 'polite');
  ind.update('reconnecting', { mode: 'stream' });
  assert.equal(ind.element.dataset.state, 'reconnecting');
  assert.equal(ind.element.dataset.tone, 'pending');
  assert.equal(ind.element.title, 'Alert stream: reconnecting (retrying with backoff)');
  const label = ind.element.children[1];
  assert.equal(label.textContent, 'Reconnecting');
  assert.match(label.className, /visually-hidden/, 'compact: the label is for screen readers only');
});

test('the tooltip tells the connection\'s real settings, not assumed ones', () => {
  const settings = { maxAttempts: 3, pollIntervalMs: 2500 };
  assert.match(describeState('reconnecting', { stream: 'density', mode: 'polling', settings }).title, /polling every 2\.5 s/);
  assert.match(describeState('error', { stream: 'alerts', mode: 'stopped', settings }).title, /gave up after 3 failed attempts/);
  assert.match(describeState('error', { mode: 'stopped', settings: { maxAttempts: 1 } }).title, /after 1 failed attempt:/);
  assert.match(describeState('connected', { shared: 'shared worker' }).title, /shared by this browser's tabs \(shared worker\)/);
});

test('settingsText and fmtSeconds', async () => {
  const { settingsText, fmtSeconds } = await import('../static/js/status.js');
  assert.equal(fmtSeconds(5000), '5 s');
  assert.equal(fmtSeconds(30000), '30 s');
  assert.match(settingsText({ pollIntervalMs: 10000 }).polling, /every 10 s/);
  assert.match(settingsText().stopped, /5 failed attempts/, 'the manager\'s defaults without settings');
});
