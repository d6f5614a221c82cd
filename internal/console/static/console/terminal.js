// @ts-check
// The terminal of a remote connection: xterm.js (vendored under /vendor/, loaded only on
// the remote page) with its DOM renderer, so that the terminal's text is in the page for
// assistive technology and the tests; and the `terminal` data channel as remote-protocol
// fixes it: the first text message signs in with the hidden account's password and gives
// the size, then keystrokes go to the PC as binary messages and the pseudo console's output
// comes back as binary messages.

import { bridgeStyles, sweepStyles } from "./cssom.js";

/** @typedef {import("@xterm/xterm").Terminal} XTerm */
/** @typedef {import("@xterm/addon-fit").FitAddon} FitAddon */
/** @import { Key } from "./i18n.js" */

/**
 * Notice is a sentence about the terminal the page shows next to the password: a key of
 * the message tables and its values.
 * @typedef {{ key: Key, vars?: Record<string, unknown> }} Notice
 */

/**
 * TermState: "out" until the password is accepted (and again after the shell exits),
 * "checking" while the PC checks it, "in" while the shell runs.
 * @typedef {"out" | "checking" | "in"} TermState
 */

/**
 * The messages of the terminal channel from the PC (remote-protocol, "terminal").
 * @typedef {{ type: "login", ok: boolean, attemptsLeft?: number, shell?: string, message?: string }
 *   | { type: "exit", code: number }
 *   | { type: "error", message: string }} TermMessage
 */

// The vendored files, beside the console's modules (static/vendor, see VENDORED.md).
const xtermModule = new URL("../vendor/xterm/lib/xterm.mjs", import.meta.url).href;
const fitModule = new URL("../vendor/xterm-addon-fit/lib/addon-fit.mjs", import.meta.url).href;
const xtermCSS = new URL("../vendor/xterm/css/xterm.css", import.meta.url).href;

// The size the login gives when the terminal has not measured itself yet (the app's own).
const defaultCols = 120;
const defaultRows = 32;

/** @type {Promise<{ Terminal: typeof import("@xterm/xterm").Terminal, FitAddon: typeof import("@xterm/addon-fit").FitAddon }> | null} */
let loading = null;

/** loadXterm loads xterm.js, its fit addon and its stylesheet, once. */
function loadXterm() {
  if (!loading) {
    bridgeStyles();
    const css = new Promise((resolve, reject) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = xtermCSS;
      link.onload = resolve;
      link.onerror = () => reject(new Error("xterm.css did not load"));
      document.head.append(link);
    });
    loading = Promise.all([import(xtermModule), import(fitModule), css]).then(([x, f]) => ({ Terminal: x.Terminal, FitAddon: f.FitAddon }));
    loading.catch(() => {
      loading = null; // a later page tries again
    });
  }
  return loading;
}

const encoder = new TextEncoder();

/**
 * RemoteTerminal is the terminal of one remote connection. Its element (host) moves into
 * each drawing of the page; the page reads state, notice, shell and attemptsLeft and is
 * told of every change through changed.
 */
export class RemoteTerminal {
  /** @param {() => void} changed */
  constructor(changed) {
    this.changed = changed;
    /** @type {TermState} */
    this.state = "out";
    /** @type {Notice | null} */
    this.notice = null;
    this.shell = "";
    /** @type {number | null} */
    this.attemptsLeft = null;
    this.host = document.createElement("div");
    this.host.className = "terminal-host";
    /** @type {XTerm | null} */
    this.term = null;
    /** @type {FitAddon | null} */
    this.fit = null;
    /** @type {RTCDataChannel | null} */
    this.dc = null;
    // A password typed before the channel opened: sent the moment it opens, then dropped.
    /** @type {string | null} */
    this.pending = null;
    this.closed = false;
    /** @type {ResizeObserver | null} */
    this.resizes = null;
    this.ready = loadXterm().then(({ Terminal, FitAddon }) => {
      if (this.closed) return;
      const term = new Terminal({
        cursorBlink: true,
        fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace',
        fontSize: 14,
        scrollback: 5000,
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(this.host);
      this.term = term;
      this.fit = fit;
      this.refit();
      this.resizes = new ResizeObserver(() => this.refit());
      this.resizes.observe(this.host);
      term.onData((data) => this.type(encoder.encode(data)));
      // Some mouse reports are bytes, not UTF-8.
      term.onBinary((data) => this.type(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
      term.onResize(({ cols, rows }) => {
        if (this.state === "in") this.sendText({ type: "resize", cols, rows });
      });
    }, () => {
      this.notice = { key: "remoteNoTerminal" };
      this.changed();
      throw new Error("xterm.js did not load");
    });
  }

  /** refit sizes the terminal to its element, when that is on the page. */
  refit() {
    if (this.fit && this.host.isConnected && this.host.clientWidth > 0) this.fit.fit();
  }

  /**
   * attach serves the terminal channel of the connection.
   * @param {RTCDataChannel} dc
   */
  attach(dc) {
    this.dc = dc;
    dc.binaryType = "arraybuffer";
    dc.addEventListener("open", () => {
      if (this.pending !== null) {
        const password = this.pending;
        this.pending = null;
        this.sendLogin(password);
      }
    });
    dc.addEventListener("message", (e) => this.message(e.data));
  }

  /**
   * login signs in with the hidden account's password: now if the channel is open, else as
   * soon as it opens. The password is in no variable of this module once it has gone.
   * @param {string} password
   */
  login(password) {
    if (this.closed || this.state !== "out") return;
    this.notice = { key: "remoteLoginWait" };
    this.state = "checking";
    if (this.dc && this.dc.readyState === "open") this.sendLogin(password);
    else this.pending = password;
    this.changed();
  }

  /** @param {string} password */
  sendLogin(password) {
    const cols = this.term ? this.term.cols : defaultCols;
    const rows = this.term ? this.term.rows : defaultRows;
    this.sendText({ type: "login", password, cols, rows });
  }

  /** @param {object} m */
  sendText(m) {
    if (this.dc && this.dc.readyState === "open") this.dc.send(JSON.stringify(m));
  }

  /** @param {Uint8Array<ArrayBuffer>} bytes keystrokes as the emulator sends them */
  type(bytes) {
    if (this.state === "in" && !this.closed && this.dc && this.dc.readyState === "open") this.dc.send(bytes);
  }

  /** @param {unknown} data */
  message(data) {
    if (data instanceof ArrayBuffer) {
      if (this.term) this.term.write(new Uint8Array(data));
      return;
    }
    /** @type {TermMessage} */
    let m;
    try {
      m = JSON.parse(String(data));
    } catch {
      return;
    }
    switch (m.type) {
      case "login":
        if (m.ok) {
          this.state = "in";
          this.shell = m.shell || "";
          this.notice = null;
          this.attemptsLeft = null;
          this.refit();
          if (this.term) this.term.focus();
        } else {
          this.state = "out";
          const n = typeof m.attemptsLeft === "number" ? m.attemptsLeft : null;
          this.attemptsLeft = n;
          // At 0 the PC ends the connection; its bye says so on the page.
          this.notice = n === null ? { key: "remotePCError", vars: { message: m.message || "" } }
            : n === 1 ? { key: "remoteWrongPasswordLast" } : { key: "remoteWrongPassword", vars: { n } };
        }
        break;
      case "exit":
        this.state = "out";
        this.notice = { key: "remoteShellExit", vars: { code: m.code } };
        break;
      case "error":
        if (this.state === "checking") this.state = "out";
        this.notice = { key: "remotePCError", vars: { message: m.message } };
        break;
      default:
        return;
    }
    this.changed();
  }

  /** close stops the terminal with its connection; what it showed stays readable. */
  close() {
    this.closed = true;
    this.pending = null;
    if (this.state === "checking") this.state = "out";
    if (this.term) this.term.options.cursorBlink = false;
  }

  /** dispose removes the terminal for good, once the page no longer shows it. */
  dispose() {
    this.close();
    if (this.resizes) this.resizes.disconnect();
    if (this.term) this.term.dispose();
    this.term = null;
    sweepStyles();
  }
}
