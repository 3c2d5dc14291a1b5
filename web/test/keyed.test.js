import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile, placeChildren, setText, setAttr, setData } from '../static/js/keyed.js';

// A minimal node tree: children, insertBefore, removeChild, and a count of
// every mutation.
class Node {
  constructor(name) { this.name = name; this.children = []; this.parent = null; this.mutations = 0; this.attrs = {}; this.dataset = {}; this._text = ''; }
  get firstChild() { return this.children[0] ?? null; }
  get nextSibling() { const s = this.parent?.children; return s ? s[s.indexOf(this) + 1] ?? null : null; }
  insertBefore(n, ref) {
    if (n.parent) n.parent.children.splice(n.parent.children.indexOf(n), 1);
    const i = ref ? this.children.indexOf(ref) : this.children.length;
    this.children.splice(i, 0, n); n.parent = this; this.mutations++;
  }
  removeChild(n) { this.children.splice(this.children.indexOf(n), 1); n.parent = null; this.mutations++; }
  get textContent() { return this._text; }
  set textContent(v) { this._text = v; this.mutations++; }
  hasAttribute(k) { return k in this.attrs; }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  setAttribute(k, v) { this.attrs[k] = v; this.mutations++; }
  removeAttribute(k) { delete this.attrs[k]; this.mutations++; }
}

test('reconcile creates once per key, updates in place, drops stale keys', () => {
  const cache = new Map();
  let created = 0;
  const create = (it) => { created++; return { node: new Node(it.id), value: null }; };
  const update = (e, it) => { e.value = it.v; };
  const a = reconcile(cache, [{ id: 'a', v: 1 }, { id: 'b', v: 2 }], (i) => i.id, create, update);
  const b = reconcile(cache, [{ id: 'b', v: 3 }, { id: 'a', v: 4 }], (i) => i.id, create, update);
  assert.equal(created, 2, 'the second render creates nothing');
  assert.equal(a[0], b[1], 'the same node for the same key');
  assert.equal(cache.get('b').value, 3);
  reconcile(cache, [{ id: 'a', v: 5 }], (i) => i.id, create, update);
  assert.deepEqual([...cache.keys()], ['a']);
});

test('placeChildren touches nothing when the order is unchanged, moves only what moved', () => {
  const root = new Node('root');
  const [x, y, z] = ['x', 'y', 'z'].map((n) => new Node(n));
  placeChildren(root, [x, y, z]);
  const m = root.mutations;
  placeChildren(root, [x, y, z]);
  assert.equal(root.mutations, m, 'an unchanged list is no mutation');
  placeChildren(root, [z, x, y]);
  assert.deepEqual(root.children.map((c) => c.name), ['z', 'x', 'y']);
  assert.equal(root.mutations, m + 1, 'one move');
  placeChildren(root, [x]);
  assert.deepEqual(root.children.map((c) => c.name), ['x']);
});

test('setText, setAttr and setData write only what differs', () => {
  const el = new Node('el');
  setText(el, 'a'); setText(el, 'a');
  setAttr(el, 'title', 't'); setAttr(el, 'title', 't');
  assert.equal(el.mutations, 2);
  setAttr(el, 'title', null);
  assert.equal(el.getAttribute('title'), null);
  setData(el, { level: 'warning' });
  setData(el, { level: 'warning', zone: null });
  assert.deepEqual(el.dataset, { level: 'warning' });
});
