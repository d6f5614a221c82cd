// @ts-check
// Small DOM helpers. The console builds every element with createElement and textContent:
// the Content-Security-Policy enforces Trusted Types, so an HTML string sink would throw.

/**
 * Child is what h and replace take as content: a node, a text, or a list of them; null,
 * undefined and false are skipped.
 * @typedef {Node | string | number | boolean | null | undefined | Child[]} Child
 */

/**
 * Attrs are h's attributes: "text" (the text content), "class", "on<event>" (a listener),
 * "value" and "checked" (the properties), booleans (an attribute set when true), anything
 * else as an attribute; null, undefined and false leave it out.
 * @typedef {{ [name: string]: string | number | boolean | null | undefined | ((e: Event) => void) }} Attrs
 */

/**
 * h builds an element. attrs: "class", "text", "on<event>" (listener), booleans (set when
 * true), anything else as an attribute. Children: nodes, strings, arrays; null is skipped.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = String(v);
    else if (k === "class") el.className = String(v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") /** @type {HTMLInputElement} */ (el).value = String(v);
    else if (k === "checked") /** @type {HTMLInputElement} */ (el).checked = Boolean(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * replace swaps the content of el, keeping keyboard focus on the element with the same data-key.
 * @param {Element} el
 * @param {...Child} children
 */
export function replace(el, ...children) {
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  const key = active && el.contains(active) ? active.dataset.key : undefined;
  el.replaceChildren();
  append(el, children);
  if (key) {
    /** @type {HTMLElement | null} */
    const again = el.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

/**
 * confirmDialog asks a yes/no question in a modal <dialog>; the safe answer has the focus.
 * @param {{ title: string, body: string, yes: string, no: string }} question the texts
 * @returns {Promise<boolean>} whether the technician said yes
 */
export function confirmDialog({ title, body, yes, no }) {
  return new Promise((resolve) => {
    const yesBtn = h("button", { type: "button", class: "danger", id: "confirm-yes", text: yes });
    const noBtn = h("button", { type: "button", class: "secondary", id: "confirm-no", text: no, autofocus: true });
    const heading = h("h2", { id: "confirm-title", text: title });
    const dlg = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-body" },
      heading, h("p", { id: "confirm-body", text: body }), h("div", { class: "actions" }, noBtn, yesBtn));
    /** @param {boolean} answer */
    const done = (answer) => {
      dlg.close();
      dlg.remove();
      resolve(answer);
    };
    yesBtn.addEventListener("click", () => done(true));
    noBtn.addEventListener("click", () => done(false));
    dlg.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    noBtn.focus();
  });
}
