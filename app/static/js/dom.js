// Element building with DOM APIs only. Server data (agent output above all) is hostile input:
// it only ever reaches the page as text nodes or textContent, never as markup.

/**
 * Create an element.
 * attrs: `class`, `text` (textContent), `dataset` (object), `on<event>` (listener),
 * `hidden`/`disabled`/... (booleans), anything else as an attribute set by our own code.
 * children: nodes, strings (become text nodes), arrays, null/undefined/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Append children (nodes, strings, nested arrays; falsy values skipped). */
export function append(parent, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace all children of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Set textContent only when it changed (keeps layout work down during bursts). */
export function setText(el, text) {
  const value = String(text ?? "");
  if (el.textContent !== value) el.textContent = value;
}

/** A status badge: `<span class="badge status-<status>">status</span>`. */
export function badge(status, label) {
  const safe = /^[a-z_]+$/.test(status) ? status : "unknown";
  return h("span", { class: `badge status-${safe}`, dataset: { status: safe }, text: label ?? status.replace("_", " ") });
}

/** Update a badge made by `badge()` in place. */
export function setBadge(el, status, label) {
  const safe = /^[a-z_]+$/.test(status) ? status : "unknown";
  el.className = `badge status-${safe}`;
  el.dataset.status = safe;
  setText(el, label ?? status.replace("_", " "));
}
