// @ts-check
// xterm.js's DOM renderer writes part of its styling as <style> elements (the theme's
// colours, the cell size, the scroll bar) and, for 24-bit colours, as style attributes of
// the cells. The console's Content-Security-Policy (style-src 'self', no 'unsafe-inline')
// refuses both, and Chromium reports every refusal. bridgeStyles routes both through the
// CSSOM, which CSP does not govern: a <style> that script makes becomes a constructed
// stylesheet adopted by the document, a style attribute that script sets on a span becomes
// that span's style.cssText. The policy stays as it is: markup still cannot bring a style
// of its own, and only the page's script — from 'self', under Trusted Types — styles
// anything, as it always could through element.style.

/** @type {Map<CSSStyleSheet, Element>} */
const bridged = new Map(); // each constructed sheet and the stand-in of its <style>
let installed = false;

/**
 * bridgeStyles installs the bridge for the page's document, once; it must run before
 * xterm.js makes its first <style>.
 */
export function bridgeStyles() {
  if (installed) return;
  installed = true;
  const createElement = Document.prototype.createElement;
  // An own property of this one document: nothing else goes through it.
  Object.defineProperty(document, "createElement", {
    configurable: true,
    writable: true,
    /**
     * @this {Document}
     * @param {string} tag
     * @param {ElementCreationOptions} [options]
     */
    value: function (tag, options) {
      if (typeof tag === "string" && tag.toLowerCase() === "style") return styleStandIn(this, createElement);
      return createElement.call(this, tag, options);
    },
  });
  // xterm.js sets style attributes on the spans of its rows only.
  const setAttribute = Element.prototype.setAttribute;
  HTMLSpanElement.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style") {
      this.style.cssText = String(value);
      return;
    }
    setAttribute.call(this, name, value);
  };
}

/**
 * styleStandIn is what document.createElement("style") gives once the bridge is in: a
 * <template> (inert: never rendered, its text never parsed as markup or as a stylesheet)
 * whose textContent goes into a constructed stylesheet of the document. Removing it drops
 * the sheet.
 * @param {Document} doc
 * @param {typeof Document.prototype.createElement} createElement the document's own
 * @returns {HTMLElement}
 */
function styleStandIn(doc, createElement) {
  const el = createElement.call(doc, "template");
  el.dataset.styleBridge = "";
  const sheet = new CSSStyleSheet();
  let text = "";
  Object.defineProperty(el, "textContent", {
    configurable: true,
    get: () => text,
    set: (v) => {
      text = v === null || v === undefined ? "" : String(v);
      sheet.replaceSync(text);
    },
  });
  const remove = el.remove;
  el.remove = function () {
    drop(doc, sheet);
    remove.call(this);
  };
  bridged.set(sheet, el);
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  return el;
}

/**
 * @param {Document} doc
 * @param {CSSStyleSheet} sheet
 */
function drop(doc, sheet) {
  bridged.delete(sheet);
  doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet);
}

/** sweepStyles drops the sheets whose stand-in has left the page (a terminal disposed). */
export function sweepStyles() {
  for (const [sheet, el] of [...bridged]) {
    if (!el.isConnected) drop(document, sheet);
  }
}

/** bridgedSheets counts the constructed sheets in use (the tests read it). */
export function bridgedSheets() {
  return bridged.size;
}
