// @ts-check
// The PC's screen on the remote page: the `screen`, `input` and `clipboard` data channels
// as remote-protocol's issue-14 section fixes them. The app sends a frame message and then
// one binary message per changed rectangle (a 16-byte big-endian header and a JPEG); the
// rectangles of a frame are decoded (createImageBitmap, which needs no img-src), drawn onto
// <canvas id="screen"> together, and only then acknowledged: the app keeps at most three
// frames unacknowledged, so a slow browser slows the stream instead of queueing it. The
// canvas takes the keyboard while it has the focus (KeyboardEvent.code, layout-independent,
// so that shortcuts reach the PC as keys), and the mouse in the display's own pixels,
// mapped back from however the canvas is scaled. Ctrl+Alt+Home gives the keyboard back.

/** @import { Notice } from "./terminal.js" */

/**
 * A display of the PC, as the app lists them (the primary one is 0).
 * @typedef {{ index: number, x: number, y: number, width: number, height: number, primary: boolean, name: string }} Display
 */

/**
 * The app's text messages on the screen channel.
 * @typedef {{ type: "displays", displays: Display[] }
 *   | { type: "frame", frame: number, width: number, height: number, rects: number, full: boolean }
 *   | { type: "cursor", x: number, y: number, visible: boolean }
 *   | { type: "desktop", secure: boolean }
 *   | { type: "error", message: string }} ScreenMessage
 */

/**
 * A frame being received: its rectangles' pictures, decoding as they arrive.
 * @typedef {{ frame: number, width: number, height: number, left: number,
 *   rects: Promise<{ x: number, y: number, bitmap: ImageBitmap | null }>[] }} Pending
 */

/**
 * ScreenState: "waiting" until the first frame is drawn, "showing" then, "unavailable"
 * when the PC does not offer its screen (it closed the channel or said why not), "closed"
 * once the connection has ended.
 * @typedef {"waiting" | "showing" | "unavailable" | "closed"} ScreenState
 */

/** The qualities the page offers (JPEG quality; the app lowers it while acks lag). */
export const qualities = [30, 50, 70, 90];
export const defaultQuality = 70;
const maxFps = 20;
const headerSize = 16;
// The clipboard channel takes at most 1 MiB of text; it travels in parts of 64 KiB with
// "more": true on all but the last, as the app sends it (a browser's data channel takes
// messages of 256 KiB at most).
export const maxClipboardBytes = 1 << 20;
const clipboardPart = 64 << 10;
// The app types at most 64 KiB of text at once.
const maxTypeBytes = 64 << 10;
// Lines and pages of a wheel event in pixels (the app reads 100 pixels as one notch).
const wheelLinePixels = 100 / 3;
const wheelPagePixels = 800;

// What the tests read: rectangles received, frames drawn and acknowledged, messages that
// broke the protocol.
export const stats = { rects: 0, framesDrawn: 0, acks: 0, lastAck: 0, broken: 0 };

const encoder = new TextEncoder();

/**
 * The leave key: Ctrl+Alt+Home, as Windows' own Remote Desktop client uses it to leave
 * its window. It goes nowhere; the Ctrl and Alt held for it are let go on the PC.
 * @param {KeyboardEvent} e
 */
export function isLeaveKey(e) {
  return e.type === "keydown" && e.code === "Home" && e.ctrlKey && e.altKey;
}

/**
 * RemoteScreen is the screen, mouse, keyboard and clipboard of one remote connection. Its
 * element (view) moves into each drawing of the page, so that a redraw (a language switch)
 * keeps what the canvas shows; the page reads the fields and is told of changes.
 */
export class RemoteScreen {
  /** @param {() => void} changed */
  constructor(changed) {
    this.changed = changed;
    /** @type {ScreenState} */
    this.state = "waiting";
    /** @type {Notice | null} a sentence from the PC (an error) */
    this.notice = null;
    /** @type {Display[]} */
    this.displays = [];
    this.display = 0;
    this.quality = defaultQuality;
    /** @type {"fit" | "actual"} */
    this.scale = "fit";
    this.secure = false;
    this.captured = false; // the canvas has the keyboard
    this.clipboardText = ""; // what the PC's clipboard held when last asked
    /** @type {Notice | null} */
    this.clipboardNotice = null;
    this.closed = false;

    this.canvas = document.createElement("canvas");
    this.canvas.id = "screen";
    this.canvas.className = "screen-canvas fit";
    this.canvas.tabIndex = 0;
    this.canvas.width = 0;
    this.canvas.height = 0;
    this.ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d", { alpha: false }));
    this.cursor = document.createElement("div");
    this.cursor.id = "screen-cursor";
    this.cursor.className = "screen-cursor";
    this.cursor.hidden = true;
    this.cursorAt = { x: 0, y: 0, visible: false };
    this.stage = document.createElement("div");
    this.stage.className = "screen-stage";
    this.stage.append(this.canvas, this.cursor);

    /** @type {RTCDataChannel | null} */ this.screenDC = null;
    /** @type {RTCDataChannel | null} */ this.inputDC = null;
    /** @type {RTCDataChannel | null} */ this.clipDC = null;
    /** @type {Pending | null} */
    this.pending = null;
    /** @type {Promise<void>} frames are drawn one after another, in order */
    this.drawing = Promise.resolve();
    this.clipParts = "";

    // Input: what is held, so that nothing stays pressed on the PC when the canvas loses
    // the focus; a move waits for the next animation frame, unless a button overtakes it.
    /** @type {Set<string>} */
    this.keysDown = new Set();
    this.buttons = 0;
    /** @type {{ x: number, y: number } | null} */
    this.moveTo = null;
    /** @type {{ x: number, y: number } | null} where the last move went */
    this.lastPoint = null;
    this.moveQueued = false;
    this.clipboardSeq = 0; // counts the PC's clipboard texts that arrived
    /** @type {(() => void)[]} what close undoes: listeners beyond the canvas */
    this.offs = [];
    this.listen();
    const resizes = new ResizeObserver(() => this.placeCursor());
    resizes.observe(this.canvas);
    this.offs.push(() => resizes.disconnect());
  }

  /**
   * attach serves the three channels of the connection.
   * @param {RTCDataChannel} screen
   * @param {RTCDataChannel} input
   * @param {RTCDataChannel} clipboard
   */
  attach(screen, input, clipboard) {
    this.screenDC = screen;
    this.inputDC = input;
    this.clipDC = clipboard;
    screen.binaryType = "arraybuffer";
    screen.addEventListener("open", () => this.sendScreen({ type: "start", display: this.display, quality: this.quality, maxFps }));
    screen.addEventListener("message", (e) => this.screenMessage(e.data));
    clipboard.addEventListener("message", (e) => this.clipboardMessage(e.data));
    input.addEventListener("message", (e) => {
      // The app answers input only when it could not deliver it.
      const m = parse(e.data);
      if (m && m.type === "error") this.fail({ key: "screenPCError", vars: { message: String(m.message) } }, false);
    });
    for (const dc of [screen, input, clipboard]) {
      dc.addEventListener("close", () => {
        // An app without a screen to offer (an older version) closes the channels; the
        // terminal and the files go on.
        if (!this.closed && this.state !== "unavailable") this.fail({ key: "screenNotOffered" }, true);
      });
    }
  }

  /**
   * fail shows the PC's problem; unavailable: there is no screen to show.
   * @param {Notice} notice
   * @param {boolean} unavailable
   */
  fail(notice, unavailable) {
    this.notice = notice;
    if (unavailable) {
      this.state = "unavailable";
      this.release();
    }
    this.changed();
  }

  /** @param {Record<string, unknown>} m */
  sendScreen(m) {
    return send(this.screenDC, m);
  }

  /** @param {Record<string, unknown>} m */
  sendInput(m) {
    if (this.state !== "showing") return false;
    return send(this.inputDC, m);
  }

  /** @param {unknown} data */
  screenMessage(data) {
    if (this.closed) return;
    if (data instanceof ArrayBuffer) {
      this.rect(data);
      return;
    }
    const m = /** @type {ScreenMessage | null} */ (parse(data));
    if (!m) return;
    switch (m.type) {
      case "frame":
        if (this.pending) stats.broken++; // the rectangles of the previous frame did not all come
        this.pending = { frame: m.frame, width: m.width, height: m.height, left: m.rects, rects: [] };
        if (m.rects === 0) this.complete();
        return;
      case "displays":
        this.displays = Array.isArray(m.displays) ? m.displays : [];
        if (this.display >= this.displays.length) this.display = 0;
        this.changed();
        return;
      case "cursor":
        this.cursorAt = { x: m.x, y: m.y, visible: Boolean(m.visible) };
        this.placeCursor();
        return;
      case "desktop":
        this.secure = Boolean(m.secure);
        this.changed();
        return;
      case "error":
        this.fail({ key: "screenPCError", vars: { message: m.message } }, this.state === "waiting");
    }
  }

  /** @param {ArrayBuffer} data one rectangle of the pending frame */
  rect(data) {
    const p = this.pending;
    if (!p || data.byteLength < headerSize) {
      stats.broken++;
      return;
    }
    const v = new DataView(data);
    const x = v.getUint16(0), y = v.getUint16(2), frame = v.getUint32(8), length = v.getUint32(12);
    if (frame !== (p.frame >>> 0) || length !== data.byteLength - headerSize) {
      stats.broken++;
      return;
    }
    stats.rects++;
    const jpeg = new Blob([new Uint8Array(data, headerSize, length)], { type: "image/jpeg" });
    p.rects.push(createImageBitmap(jpeg).then((bitmap) => ({ x, y, bitmap }), () => ({ x, y, bitmap: null })));
    p.left--;
    if (p.left === 0) this.complete();
  }

  /** complete draws the pending frame once all its rectangles are decoded, then acks it. */
  complete() {
    const p = /** @type {Pending} */ (this.pending);
    this.pending = null;
    this.drawing = this.drawing.then(async () => {
      const rects = await Promise.all(p.rects);
      if (this.closed) return;
      if (this.canvas.width !== p.width || this.canvas.height !== p.height) {
        this.canvas.width = p.width;
        this.canvas.height = p.height;
      }
      let damaged = false;
      for (const r of rects) {
        if (r.bitmap) {
          this.ctx.drawImage(r.bitmap, r.x, r.y);
          r.bitmap.close();
        } else damaged = true;
      }
      stats.framesDrawn++;
      if (this.sendScreen({ type: "ack", frame: p.frame })) {
        stats.acks++;
        stats.lastAck = p.frame;
      }
      // A rectangle that did not decode leaves a hole: ask for the whole screen again.
      if (damaged) this.sendScreen({ type: "refresh" });
      if (this.state === "waiting") {
        this.state = "showing";
        this.notice = null;
        this.changed();
      }
      this.placeCursor();
    });
  }

  /** placeCursor puts the PC's pointer over the canvas where the PC has it. */
  placeCursor() {
    const c = this.cursorAt;
    const w = this.canvas.width, hgt = this.canvas.height;
    this.cursor.hidden = !c.visible || !w || !hgt || this.state !== "showing";
    if (this.cursor.hidden) return;
    const sx = this.canvas.clientWidth / w, sy = this.canvas.clientHeight / hgt;
    this.cursor.style.left = `${this.canvas.offsetLeft + c.x * sx}px`;
    this.cursor.style.top = `${this.canvas.offsetTop + c.y * sy}px`;
    this.cursor.dataset.x = String(c.x);
    this.cursor.dataset.y = String(c.y);
  }

  /**
   * point maps a mouse event on the canvas to the display's pixels.
   * @param {MouseEvent} e
   */
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    const w = this.canvas.width, hgt = this.canvas.height;
    if (!r.width || !r.height) return { x: 0, y: 0 };
    const x = Math.floor(((e.clientX - r.left) * w) / r.width);
    const y = Math.floor(((e.clientY - r.top) * hgt) / r.height);
    return { x: Math.min(Math.max(x, 0), w - 1), y: Math.min(Math.max(y, 0), hgt - 1) };
  }

  /** listen takes the canvas's keyboard, mouse and wheel. */
  listen() {
    const c = this.canvas;
    c.addEventListener("focus", () => {
      this.captured = true;
      this.changed();
    });
    c.addEventListener("blur", () => {
      this.release();
      this.captured = false;
      this.changed();
    });
    const key = (/** @type {KeyboardEvent} */ e) => {
      if (isLeaveKey(e)) {
        e.preventDefault();
        c.blur(); // blur lets go of Ctrl and Alt on the PC
        return;
      }
      // Every key goes to the PC, none to the browser (as far as it lets a page).
      e.preventDefault();
      e.stopPropagation();
      if (!e.code) return; // a key the browser cannot name (some IME input)
      const down = e.type === "keydown";
      if (down) this.keysDown.add(e.code);
      else if (!this.keysDown.delete(e.code)) return; // pressed before the canvas had the focus
      this.sendInput({ type: "key", code: e.code, down });
    };
    c.addEventListener("keydown", key);
    c.addEventListener("keyup", key);
    c.addEventListener("mousemove", (e) => {
      this.moveTo = this.point(e);
      if (this.moveQueued) return;
      this.moveQueued = true;
      requestAnimationFrame(() => this.flushMove());
    });
    const button = (/** @type {MouseEvent} */ e) => {
      e.preventDefault();
      if (e.type === "mousedown") c.focus({ preventScroll: true });
      this.moveTo = this.point(e);
      this.buttons = e.buttons & 0x1f;
      this.flushMove(true);
    };
    c.addEventListener("mousedown", button);
    c.addEventListener("mouseup", button);
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const unit = e.deltaMode === 1 ? wheelLinePixels : e.deltaMode === 2 ? wheelPagePixels : 1;
      this.flushMove();
      this.sendInput({ type: "wheel", dx: e.deltaX * unit, dy: e.deltaY * unit });
    }, { passive: false });
    // A button let go outside the canvas: the PC hears it let go too.
    const outside = (/** @type {MouseEvent} */ e) => {
      if (e.target === c || !this.buttons) return;
      this.buttons = e.buttons & 0x1f;
      this.flushMove(true);
    };
    window.addEventListener("mouseup", outside);
    this.offs.push(() => window.removeEventListener("mouseup", outside));
  }

  /**
   * flushMove sends the latest position with the buttons held.
   * @param {boolean} [force] send even without a new position (a button changed)
   */
  flushMove(force = false) {
    this.moveQueued = false;
    const to = this.moveTo;
    if (!to && !force) return;
    this.moveTo = null;
    const at = to || this.lastPoint || { x: 0, y: 0 };
    this.lastPoint = at;
    this.sendInput({ type: "mouse", x: at.x, y: at.y, buttons: this.buttons, display: this.display });
  }

  /** release lets go on the PC of every key and button held from this page. */
  release() {
    for (const code of this.keysDown) send(this.inputDC, { type: "key", code, down: false });
    this.keysDown.clear();
    if (this.buttons) {
      this.buttons = 0;
      this.flushMove(true);
    }
  }

  /** sas asks the PC for Ctrl+Alt+Del (SendSAS: a page cannot send the keys themselves). */
  sas() {
    return this.sendInput({ type: "sas" });
  }

  /** @param {number} index a display of the list */
  chooseDisplay(index) {
    if (index === this.display || index < 0 || index >= this.displays.length) return;
    this.release();
    this.display = index;
    this.sendScreen({ type: "display", display: index });
    this.changed();
  }

  /** @param {number} q */
  chooseQuality(q) {
    if (q === this.quality) return;
    this.quality = q;
    this.sendScreen({ type: "quality", quality: q });
    this.changed();
  }

  /** @param {"fit" | "actual"} s */
  chooseScale(s) {
    this.scale = s;
    this.canvas.classList.toggle("fit", s === "fit");
    this.canvas.classList.toggle("actual", s === "actual");
    this.placeCursor();
    this.changed();
  }

  /** refresh asks for the whole screen again. */
  refresh() {
    this.sendScreen({ type: "refresh" });
  }

  /**
   * sendClipboard puts text on the PC's clipboard.
   * @param {string} text
   */
  sendClipboard(text) {
    const bytes = encoder.encode(text).length;
    if (bytes > maxClipboardBytes) {
      this.clipboardNotice = { key: "clipboardTooLarge", vars: { size: bytes, max: maxClipboardBytes } };
      this.changed();
      return;
    }
    const parts = splitText(text, clipboardPart);
    let ok = true;
    parts.forEach((part, i) => {
      /** @type {Record<string, unknown>} */
      const m = { type: "clipboard", text: part };
      if (i < parts.length - 1) m.more = true;
      ok = send(this.clipDC, m) && ok;
    });
    this.clipboardNotice = ok ? { key: "clipboardSent", vars: { size: bytes } } : { key: "clipboardNoChannel" };
    this.changed();
  }

  /** askClipboard asks for the PC's clipboard; its text arrives on the channel. */
  askClipboard() {
    this.clipParts = "";
    const ok = send(this.clipDC, { type: "get" });
    this.clipboardNotice = ok ? { key: "clipboardAsking" } : { key: "clipboardNoChannel" };
    this.changed();
  }

  /**
   * typeText types text on the PC, character by character (for a field that takes no
   * paste, such as a sign-in screen's).
   * @param {string} text
   */
  typeText(text) {
    const bytes = encoder.encode(text).length;
    if (bytes > maxTypeBytes) {
      this.clipboardNotice = { key: "typeTooLarge", vars: { size: bytes, max: maxTypeBytes } };
    } else if (this.sendInput({ type: "text", text })) {
      this.clipboardNotice = { key: "typeSent", vars: { n: [...text].length } };
    } else {
      this.clipboardNotice = { key: "clipboardNoChannel" };
    }
    this.changed();
  }

  /** @param {unknown} data */
  clipboardMessage(data) {
    const m = parse(data);
    if (!m) return;
    if (m.type === "error") {
      this.clipParts = "";
      this.clipboardNotice = { key: "screenPCError", vars: { message: String(m.message) } };
      this.changed();
      return;
    }
    if (m.type !== "clipboard") return;
    this.clipParts += String(m.text ?? "");
    if (m.more) return;
    this.clipboardText = this.clipParts;
    this.clipParts = "";
    this.clipboardNotice = { key: "clipboardArrived", vars: { size: encoder.encode(this.clipboardText).length } };
    this.clipboardSeq++;
    // Onto this computer's clipboard too, where the browser allows it.
    if (navigator.clipboard && document.hasFocus()) navigator.clipboard.writeText(this.clipboardText).catch(() => {});
    this.changed();
  }

  /** close ends the screen: the connection has gone. */
  close() {
    if (this.closed) return;
    this.release();
    this.closed = true;
    this.state = "closed";
    this.pending = null;
    this.cursor.hidden = true;
    for (const off of this.offs) off();
    this.offs = [];
  }
}

/**
 * send sends a text message on an open channel.
 * @param {RTCDataChannel | null} dc
 * @param {Record<string, unknown>} m
 */
function send(dc, m) {
  if (!dc || dc.readyState !== "open") return false;
  dc.send(JSON.stringify(m));
  return true;
}

/**
 * @param {unknown} data
 * @returns {Record<string, any> | null}
 */
function parse(data) {
  if (typeof data !== "string") return null;
  try {
    const m = JSON.parse(data);
    return m && typeof m === "object" ? m : null;
  } catch {
    return null;
  }
}

/**
 * splitText cuts text into parts of at most size bytes of UTF-8, never inside a character.
 * @param {string} text
 * @param {number} size
 */
export function splitText(text, size) {
  /** @type {string[]} */
  const parts = [];
  let part = "", bytes = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    if (bytes + n > size) {
      parts.push(part);
      part = "";
      bytes = 0;
    }
    part += ch;
    bytes += n;
  }
  parts.push(part);
  return parts;
}
