// Small DOM helpers. The console builds every element with createElement and textContent:
// the Content-Security-Policy enforces Trusted Types, so an HTML string sink would throw.

/**
 * h builds an element. attrs: "class", "text", "on<event>" (listener), booleans (set when
 * true), anything else as an attribute. Children: nodes, strings, arrays; null is skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.className = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = Boolean(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** replace swaps the content of el, keeping keyboard focus on the element with the same data-key. */
export function replace(el, ...children) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.dataset.key : undefined;
  el.replaceChildren();
  append(el, children);
  if (key) {
    const again = el.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

/** confirmDialog asks a yes/no question in a modal <dialog>; the safe answer has the focus. */
export function confirmDialog({ title, body, yes, no }) {
  return new Promise((resolve) => {
    const yesBtn = h("button", { type: "button", class: "danger", id: "confirm-yes", text: yes });
    const noBtn = h("button", { type: "button", class: "secondary", id: "confirm-no", text: no, autofocus: true });
    const heading = h("h2", { id: "confirm-title", text: title });
    const dlg = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-body" },
      heading, h("p", { id: "confirm-body", text: body }), h("div", { class: "actions" }, noBtn, yesBtn));
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
