// @ts-check
// Files to and from the PC over the `files` data channel, as remote-protocol fixes it: one
// upload and one download at a time, binary chunks of at most 16 KiB, back-pressure on the
// channel's bufferedAmount (wait above 1 MiB until it falls below 256 KiB), and each file's
// SHA-256 checked at the receiving end — the PC checks an upload's, this page a download's
// (crypto.subtle, which hashes a whole buffer: a file is held in memory once, hence
// maxFileBytes).

/** @import { Notice } from "./terminal.js" */

// Back-pressure and chunks (remote-protocol, "files").
export const highWater = 1 << 20;
export const lowWater = 256 << 10;
export const chunkBytes = 16 << 10;
// The largest file this page sends or takes: it is hashed, and a download assembled, in memory.
export const maxFileBytes = 1 << 30;
// How often progress is drawn while bytes flow.
const drawEveryMs = 100;

// stats are what the tests read: the most bytes an upload left waiting in its channel
// right after a send, which back-pressure bounds by highWater plus one chunk.
export const stats = { peakBuffered: 0 };

/**
 * Transfer is an upload or a download as the page shows it.
 * @typedef {object} Transfer
 * @property {string} id
 * @property {string} name
 * @property {string} path where on the PC ("" for an upload into Downloads until done)
 * @property {number} size
 * @property {number} bytes sent (upload) or received (download) so far
 * @property {"reading" | "asking" | "sending" | "receiving" | "checking" | "done" | "failed"} state
 * @property {Notice | null} notice the sentence for a failure
 * @property {string} url a download's object URL, once it arrived intact
 */

/**
 * The messages of the files channel from the PC.
 * @typedef {{ type: "progress", id: string, bytes: number }
 *   | { type: "done", id: string, path: string, sha256: string }
 *   | { type: "meta", id: string, name: string, size: number }
 *   | { type: "end", id: string, sha256: string }
 *   | { type: "error", id?: string, code: string, message: string }} FileMessage
 */

/** @type {Record<string, Notice["key"]>} */
const errorKeys = {
  denied: "fileDenied",
  exists: "fileExists",
  not_found: "fileNotFound",
  hash_mismatch: "fileHashMismatch",
  too_large: "fileTooLarge",
  io: "fileIO",
};

/** @param {ArrayBuffer} digest */
function hex(digest) {
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {string} path a Windows path */
function baseName(path) {
  return path.split(/[\\/]/).filter(Boolean).pop() || path;
}

/** Files serves the files channel of one remote connection. */
export class Files {
  /** @param {() => void} changed told of every change the page shows */
  constructor(changed) {
    this.changed = changed;
    /** @type {RTCDataChannel | null} */
    this.dc = null;
    /** @type {Transfer | null} */
    this.up = null;
    /** @type {Transfer | null} */
    this.down = null;
    this.n = 0;
    /** @type {Uint8Array<ArrayBuffer> | null} the download being assembled */
    this.buf = null;
    /** @type {((ok: boolean) => void) | null} the upload waits for the PC's first answer */
    this.answered = null;
    this.drawnAt = 0;
    this.closed = false;
  }

  /** @param {RTCDataChannel} dc */
  attach(dc) {
    this.dc = dc;
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = lowWater;
    dc.addEventListener("message", (e) => this.message(e.data));
    dc.addEventListener("close", () => this.close());
  }

  /** @returns {boolean} whether a transfer is under way in that direction */
  busy(/** @type {"up" | "down"} */ dir) {
    const x = dir === "up" ? this.up : this.down;
    return Boolean(x && x.state !== "done" && x.state !== "failed");
  }

  /**
   * upload sends a file to path on the PC ("": the hidden account's Downloads folder).
   * @param {File} file
   * @param {string} path
   */
  async upload(file, path) {
    if (this.busy("up") || !this.open()) return;
    const dc = /** @type {RTCDataChannel} */ (this.dc);
    const id = `u${++this.n}`;
    /** @type {Transfer} */
    const up = { id, name: file.name, path, size: file.size, bytes: 0, state: "reading", notice: null, url: "" };
    this.up = up;
    this.changed();
    if (file.size > maxFileBytes) return this.fail(up, { key: "fileTooBig", vars: { name: file.name, max: maxFileBytes } });
    /** @type {ArrayBuffer} */
    let data;
    try {
      data = await file.arrayBuffer();
    } catch {
      return this.fail(up, { key: "fileUnreadable", vars: { name: file.name } });
    }
    const digest = crypto.subtle.digest("SHA-256", data);
    if (this.up !== up || !this.open()) return;
    const first = new Promise((resolve) => {
      this.answered = resolve;
    });
    dc.send(JSON.stringify({ type: "put", id, name: file.name, size: file.size, path }));
    // The PC opens the file first, or refuses: no byte goes out for nothing.
    if (!(await first)) return;
    up.state = "sending";
    this.changed();
    for (let off = 0; off < data.byteLength; off += chunkBytes) {
      await this.room();
      if (this.up !== up || up.state !== "sending" || !this.open()) return;
      const n = Math.min(chunkBytes, data.byteLength - off);
      dc.send(new Uint8Array(data, off, n));
      stats.peakBuffered = Math.max(stats.peakBuffered, dc.bufferedAmount);
      up.bytes = off + n;
      this.progress();
    }
    const sum = hex(await digest);
    if (this.up !== up || up.state !== "sending" || !this.open()) return;
    dc.send(JSON.stringify({ type: "end", id, sha256: sum }));
    up.state = "checking";
    this.changed();
  }

  /**
   * download asks the PC for the file at path.
   * @param {string} path a full path on the PC
   */
  download(path) {
    if (this.busy("down") || !this.open()) return;
    if (this.down && this.down.url) URL.revokeObjectURL(this.down.url);
    const id = `d${++this.n}`;
    this.down = { id, name: baseName(path), path, size: 0, bytes: 0, state: "asking", notice: null, url: "" };
    this.buf = null;
    /** @type {RTCDataChannel} */ (this.dc).send(JSON.stringify({ type: "get", id, path }));
    this.changed();
  }

  open() {
    return !this.closed && this.dc !== null && this.dc.readyState === "open";
  }

  /** room waits while more than highWater bytes wait in the channel, until fewer than lowWater do. */
  room() {
    const dc = /** @type {RTCDataChannel} */ (this.dc);
    if (dc.bufferedAmount <= highWater) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        dc.removeEventListener("bufferedamountlow", done);
        dc.removeEventListener("close", done);
        resolve(undefined);
      };
      dc.addEventListener("bufferedamountlow", done);
      dc.addEventListener("close", done);
    });
  }

  /** progress draws the bytes that flowed, now and then. */
  progress() {
    const now = performance.now();
    if (now - this.drawnAt < drawEveryMs) return;
    this.drawnAt = now;
    this.changed();
  }

  /**
   * @param {Transfer} x
   * @param {Notice} notice
   */
  fail(x, notice) {
    x.state = "failed";
    x.notice = notice;
    if (x === this.down) this.buf = null;
    if (x === this.up && this.answered) {
      this.answered(false);
      this.answered = null;
    }
    this.changed();
  }

  /** @param {unknown} data */
  message(data) {
    if (data instanceof ArrayBuffer) {
      this.chunk(data);
      return;
    }
    /** @type {FileMessage} */
    let m;
    try {
      m = JSON.parse(String(data));
    } catch {
      return;
    }
    const up = this.up && this.up.id === m.id ? this.up : null;
    const down = this.down && this.down.id === m.id ? this.down : null;
    switch (m.type) {
      case "progress":
        if (up && this.answered) {
          this.answered(true);
          this.answered = null;
        }
        return;
      case "done":
        if (!up || up.state === "failed") return;
        up.state = "done";
        up.path = m.path;
        up.bytes = up.size;
        this.changed();
        return;
      case "error": {
        const x = up || down;
        if (x && x.state !== "done" && x.state !== "failed") {
          this.fail(x, { key: errorKeys[m.code] || "fileIO", vars: { detail: m.message } });
        }
        return;
      }
      case "meta":
        if (!down || down.state !== "asking") return;
        down.name = m.name || down.name;
        down.size = m.size;
        if (m.size > maxFileBytes) {
          // The PC sends it anyway (there is no cancel); the chunks are dropped.
          this.fail(down, { key: "fileTooBig", vars: { name: down.name, max: maxFileBytes } });
          return;
        }
        this.buf = new Uint8Array(m.size);
        down.state = "receiving";
        this.changed();
        return;
      case "end":
        if (down && down.state === "receiving") this.finish(down, m.sha256);
    }
  }

  /** @param {ArrayBuffer} data a chunk of the download */
  chunk(data) {
    const down = this.down;
    if (!down || down.state !== "receiving" || !this.buf) return;
    if (down.bytes + data.byteLength > down.size) {
      this.fail(down, { key: "fileTooLarge", vars: { detail: "" } });
      return;
    }
    this.buf.set(new Uint8Array(data), down.bytes);
    down.bytes += data.byteLength;
    this.progress();
  }

  /**
   * finish checks the download's SHA-256 against the PC's and hands it to the browser.
   * @param {Transfer} down
   * @param {string} want the PC's hex SHA-256
   */
  async finish(down, want) {
    const buf = /** @type {Uint8Array<ArrayBuffer>} */ (this.buf);
    this.buf = null;
    if (down.bytes !== down.size) {
      this.fail(down, { key: "downloadShort", vars: { name: down.name, done: down.bytes, size: down.size } });
      return;
    }
    down.state = "checking";
    this.changed();
    const got = hex(await crypto.subtle.digest("SHA-256", buf));
    if (this.down !== down) return;
    if (got !== String(want).toLowerCase()) {
      this.fail(down, { key: "downloadDamaged", vars: { name: down.name } });
      return;
    }
    down.url = URL.createObjectURL(new Blob([buf]));
    down.state = "done";
    this.changed();
  }

  /** close ends what is under way: the channel has gone. */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const x of [this.up, this.down]) {
      if (x && x.state !== "done" && x.state !== "failed") this.fail(x, { key: "fileClosed" });
    }
  }

  /** dispose frees a download's object URL, once the page no longer offers it. */
  dispose() {
    this.close();
    if (this.down && this.down.url) URL.revokeObjectURL(this.down.url);
  }
}
