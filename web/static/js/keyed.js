// Keyed DOM updates: a zone card, an alert or a map shape is created once
// for its key and then updated in place, attribute by attribute and text by
// text, only where the value changed. A reading a second per zone must not
// rebuild the page (focus, hover, scroll and screen readers all suffer,
// and twenty tabs of it cost a core).

// setText writes text only when it differs.
export function setText(el, text) {
  const s = String(text ?? '');
  if (el.textContent !== s) el.textContent = s;
}

// setAttr sets (or, for null/undefined/false, removes) an attribute only when it differs.
export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const s = value === true ? '' : String(value);
  if (el.getAttribute(name) !== s) el.setAttribute(name, s);
}

// setData sets data-* values that differ; null/undefined removes.
export function setData(el, values) {
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined) { if (k in el.dataset) delete el.dataset[k]; continue; }
    const s = String(v);
    if (el.dataset[k] !== s) el.dataset[k] = s;
  }
}

export function setHidden(el, hidden) {
  if (el.hidden !== Boolean(hidden)) el.hidden = Boolean(hidden);
}

// reconcile keeps one entry per key in cache: create(item) for a new key
// (returns {node, ...refs}), update(entry, item) for every item, and drops
// the keys no longer listed. It returns the nodes in the items' order.
export function reconcile(cache, items, keyOf, create, update) {
  const nodes = [];
  const keep = new Set();
  for (const item of items) {
    const key = keyOf(item);
    keep.add(key);
    let entry = cache.get(key);
    if (!entry) { entry = create(item); cache.set(key, entry); }
    update(entry, item);
    nodes.push(entry.node);
  }
  for (const key of [...cache.keys()]) if (!keep.has(key)) cache.delete(key);
  return nodes;
}

// placeChildren makes root's children exactly nodes, in order, moving only
// those out of place (an unchanged list touches nothing).
export function placeChildren(root, nodes) {
  let cur = root.firstChild;
  for (const n of nodes) {
    if (cur === n) { cur = cur.nextSibling; continue; }
    root.insertBefore(n, cur);
  }
  while (cur) {
    const next = cur.nextSibling;
    root.removeChild(cur);
    cur = next;
  }
}
