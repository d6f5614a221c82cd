// @ts-check
// The remote page #/sessions/<id>/remote (DESIGN.md "Remote access"; what the console, the
// server and the app say to each other is remote-protocol's): Connect on the Computers page
// opens it. It asks the server for a remote connection (POST /v1/sessions/{id}/remote), makes
// the WebRTC peer connection with the ICE servers of the answer and the data channels
// `terminal` and `files`, sends the offer and trickles its candidates as signals over the live
// channel, and hears the app's answer, candidates and bye there. The channels `screen`,
// `input` and `clipboard` (screen.js) show the PC's screen beside the terminal and take
// the technician's mouse and keyboard; an app that does not offer them closes them, and the
// terminal and files go on. The connection outlives a redraw of the same page (a language
// switch); leaving the page, Disconnect, the session's end, the PC's bye or 30 s without a
// connection end it.

import { h } from "./dom.js";
import { t, fmtDuration, fmtBytes } from "./i18n.js";
import { api, ApiError } from "./api.js";
import * as auth from "./auth.js";
import * as live from "./live.js";
import { onLeave } from "./page.js";
import { title, problem } from "./parts.js";
import { RemoteTerminal } from "./terminal.js";
import { Files } from "./transfer.js";
import { RemoteScreen, qualities } from "./screen.js";

/** @import { SessionView, StartedRemote } from "./api.js" */
/** @import { Key } from "./i18n.js" */
/** @import { Signal } from "./live.js" */
/** @import { Context } from "./page.js" */
/** @import { Notice } from "./terminal.js" */
/** @import { Transfer } from "./transfer.js" */

/**
 * RemoteState is what #remote-status's data-state says.
 * @typedef {"connecting" | "connected" | "ended" | "failed"} RemoteState
 */

// What a test may change: a shorter wait for the PC, and relay only (to prove TURN).
export const tuning = {
  // The PC must be connected this long after the server said yes; the server and the app
  // give up after as long.
  answerMs: 30 * 1000,
  /** @type {RTCIceTransportPolicy} */
  iceTransportPolicy: "all",
  // A PC paired moments ago is online before its service holds the live connection that
  // remote access needs (it opens it within seconds): the page asks again this long.
  offlineWaitMs: 20 * 1000,
  offlineRetryMs: 1000,
};
const liveWaitMs = 5000; // a page opened directly waits this long for the live channel
const keepMs = 1000; // a connection left by a redraw waits this long for the page again

// The PC's bye reasons (remote-protocol) and what the page says for each.
/** @type {Record<string, [RemoteState, Key]>} */
const byes = {
  disconnected_by_technician: ["ended", "remoteEndedTechnician"],
  disconnected_by_user: ["ended", "remoteEndedUser"],
  session_ended: ["ended", "remoteEndedSession"],
  password_attempts: ["ended", "remoteEndedPassword"],
  failed: ["failed", "remoteFailed"],
  service_stopped: ["ended", "remoteEndedService"],
  superseded: ["ended", "remoteEndedSuperseded"],
};

/** Remote is one remote connection of this tab (there is one at a time). */
class Remote {
  /** @param {string} sessionId */
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.hostname = "";
    this.remoteId = "";
    /** @type {RemoteState} */
    this.state = "connecting";
    /** @type {Notice} */
    this.sentence = { key: "remoteStarting" };
    // The channels closed under a connection that had been up, and no bye has said why
    // yet: a bye that comes late still gives the reason.
    this.unexplained = false;
    this.over = false;
    this.answered = false;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {Signal[]} our candidates, held until the PC answered (the relay binds on the offer) */
    this.held = [];
    /** @type {RTCIceCandidateInit[]} the PC's candidates that overtook its answer */
    this.early = [];
    this.opened = new Set();
    this.deadline = 0;
    /** @type {(() => void) | null} the page's drawing, while the page shows this connection */
    this.draw = null;
    // The page was left for a drawing of the same page (a language switch), which takes
    // the connection over, whatever its state.
    this.redrawing = false;
    const changed = () => this.changed();
    this.terminal = new RemoteTerminal(changed);
    this.files = new Files(changed);
    this.screen = new RemoteScreen(changed);
    /** @type {(() => void)[]} */
    this.offs = [
      live.onSession((v) => this.session(v)),
      live.onState((s) => {
        // A push may have been lost during a drop: ask once the channel is back.
        if (s === live.LIVE && !this.over) this.recheck();
      }),
    ];
  }

  changed() {
    if (this.draw) this.draw();
  }

  /**
   * @param {RemoteState} state
   * @param {Notice} sentence
   */
  set(state, sentence) {
    this.state = state;
    this.sentence = sentence;
    this.changed();
  }

  /** start asks for the connection and offers it. */
  async start() {
    const url = `/v1/sessions/${encodeURIComponent(this.sessionId)}`;
    // The session's computer names the PC in every sentence; the offer does not wait for it.
    /** @type {Promise<SessionView | null>} */ (api("GET", url)).then((v) => this.session(v), () => {});
    if (!(await live.whenOpen(liveWaitMs))) return this.finish("failed", { key: "remoteNoLive" });
    if (this.over) return;
    /** @type {StartedRemote} */
    let res;
    const patience = Date.now() + tuning.offlineWaitMs;
    for (;;) {
      try {
        res = await api("POST", `${url}/remote`);
        break;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === "pc_offline" && Date.now() < patience)) {
          return this.finish("failed", refusal(err));
        }
        this.set("connecting", { key: "remoteWaitingForPC" });
        await new Promise((resolve) => setTimeout(resolve, tuning.offlineRetryMs));
        if (this.over) return;
      }
    }
    this.remoteId = res.remoteId;
    if (this.over) {
      this.send({ kind: "bye", reason: "disconnected_by_technician" }); // the PC stops waiting
      return;
    }
    this.offs.push(live.onSignal(res.remoteId, (s) => this.signal(s)));
    this.offs.push(live.onError((e) => {
      // The server refuses to relay: it ended this remote connection (or never had it).
      if (e.code === "no_remote" && this.state === "connecting") this.finish("failed", { key: "remoteNoRelay" });
    }));
    this.deadline = setTimeout(() => this.timeout(), tuning.answerMs);
    this.sentence = { key: "remoteConnecting" };
    this.changed();

    const pc = new RTCPeerConnection({ iceServers: res.iceServers, iceTransportPolicy: tuning.iceTransportPolicy });
    this.pc = pc;
    const term = pc.createDataChannel("terminal");
    const files = pc.createDataChannel("files");
    this.terminal.attach(term);
    this.files.attach(files);
    this.screen.attach(pc.createDataChannel("screen"), pc.createDataChannel("input"), pc.createDataChannel("clipboard"));
    for (const dc of [term, files]) {
      dc.addEventListener("open", () => {
        this.opened.add(dc.label);
        if (this.opened.has("terminal") && this.opened.has("files") && this.state === "connecting" && !this.over) {
          clearTimeout(this.deadline);
          this.set("connected", { key: "remoteConnected" });
        }
      });
      dc.addEventListener("close", () => {
        if (this.over) return;
        // The PC closed it. Its bye, which travels through the server, tells why; the
        // terminal knows already when the last password was wrong.
        const spent = this.terminal.attemptsLeft === 0;
        this.finish("ended", { key: spent ? "remoteEndedPassword" : "remoteEndedClosed" });
        this.unexplained = !spent;
      });
    }
    pc.addEventListener("icecandidate", (e) => {
      // An empty candidate marks the end of one generation; null ends the trickle.
      if (e.candidate && !e.candidate.candidate) return;
      /** @type {Signal} */
      const sig = { kind: "candidate", candidate: e.candidate ? candidateInit(e.candidate) : null };
      if (this.answered) this.send(sig);
      else this.held.push(sig);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" && !this.over) this.finish("failed", { key: "remoteNoPath" });
    });
    try {
      await pc.setLocalDescription();
    } catch {
      return this.finish("failed", { key: "remoteFailed" });
    }
    if (this.over || !pc.localDescription) return;
    if (!this.send({ kind: "offer", sdp: pc.localDescription.sdp })) this.finish("failed", { key: "remoteNoLive" });
  }

  /**
   * send passes a signal to the PC through the server.
   * @param {Signal} signal
   */
  send(signal) {
    return live.send({ action: "signal", sessionId: this.sessionId, remoteId: this.remoteId, signal });
  }

  /** @param {Signal} s a signal of the PC */
  async signal(s) {
    if (s.kind === "bye") {
      const [state, key] = byes[s.reason] || ["ended", "remoteEndedClosed"];
      if (!this.over) this.finish(state, { key });
      else if (this.unexplained) {
        this.unexplained = false;
        this.set(state, { key });
      }
      return;
    }
    const pc = this.pc;
    if (this.over || !pc) return;
    if (s.kind === "answer" && !this.answered) {
      try {
        await pc.setRemoteDescription({ type: "answer", sdp: s.sdp });
      } catch {
        this.finish("failed", { key: "remoteFailed" });
        return;
      }
      this.answered = true;
      for (const sig of this.held) this.send(sig);
      this.held = [];
      for (const c of this.early) pc.addIceCandidate(c).catch(() => {});
      this.early = [];
    } else if (s.kind === "candidate" && s.candidate) {
      // The relay keeps no order: a candidate may overtake the answer.
      if (!this.answered) this.early.push(s.candidate);
      else pc.addIceCandidate(s.candidate).catch(() => {});
    }
  }

  /** timeout ends an attempt that did not come up in time. */
  timeout() {
    if (this.over || this.state !== "connecting") return;
    this.finish("failed", { key: this.answered ? "remoteNoPath" : "remoteNoAnswer", vars: { time: fmtDuration(Math.round(tuning.answerMs / 1000)) } });
  }

  /** @param {SessionView | null} v a view of a session, pushed or loaded */
  session(v) {
    if (!v || v.id !== this.sessionId) return;
    if (v.computer && v.computer.hostname !== this.hostname) {
      this.hostname = v.computer.hostname;
      this.changed();
    }
    if (v.status === "active") return;
    if (!this.over) this.finish("ended", { key: "remoteEndedSession" });
    else if (this.unexplained) {
      // The PC heard of the end first and closed the connection.
      this.unexplained = false;
      this.set("ended", { key: "remoteEndedSession" });
    }
  }

  recheck() {
    /** @type {Promise<SessionView>} */ (api("GET", `/v1/sessions/${encodeURIComponent(this.sessionId)}`)).then((v) => this.session(v), () => {});
  }

  /**
   * finish ends the connection, at once: the peer connection closes (the PC notices within
   * a round trip), and bye tells the PC why when this side ends it.
   * @param {RemoteState} state
   * @param {Notice} sentence
   * @param {string} [bye] the reason to tell the PC
   */
  finish(state, sentence, bye) {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.deadline);
    if (bye && this.remoteId) this.send({ kind: "bye", reason: bye });
    this.terminal.close();
    this.files.close();
    this.screen.close();
    if (this.pc) this.pc.close();
    this.set(state, sentence);
  }

  /** disconnect is the technician's Disconnect. */
  disconnect() {
    this.finish("ended", { key: "remoteEndedTechnician" }, "disconnected_by_technician");
  }

  /** dispose ends the connection and lets go of everything it holds (the page was left). */
  dispose() {
    this.disconnect();
    this.draw = null;
    for (const off of this.offs) off();
    this.offs = [];
    this.terminal.dispose();
    this.files.dispose();
  }
}

/**
 * candidateInit is the candidate as remote-protocol carries it: its RTCIceCandidateInit
 * without the fields the browser left empty.
 * @param {RTCIceCandidate} c
 * @returns {RTCIceCandidateInit}
 */
function candidateInit(c) {
  const j = c.toJSON();
  /** @type {RTCIceCandidateInit} */
  const out = { candidate: j.candidate || "" };
  if (j.sdpMid !== null && j.sdpMid !== undefined) out.sdpMid = j.sdpMid;
  if (j.sdpMLineIndex !== null && j.sdpMLineIndex !== undefined) out.sdpMLineIndex = j.sdpMLineIndex;
  if (j.usernameFragment) out.usernameFragment = j.usernameFragment;
  return out;
}

/**
 * refusal is the sentence for a refused POST /v1/sessions/{id}/remote.
 * @param {unknown} err
 * @returns {Notice}
 */
function refusal(err) {
  if (err instanceof ApiError) {
    if (err.code === "not_active") return { key: "remoteNotActive" };
    if (err.code === "pc_offline") return { key: "remotePCOffline" };
    if (err.code === "remote_busy") return { key: "remoteBusy" };
  }
  return { key: "remoteRefused", vars: { detail: problem(err).text } };
}

/** @type {Remote | null} */
let active = null; // the tab's remote connection

/**
 * @param {HTMLElement} main
 * @param {Context & { id: string }} context
 */
export function pageRemote(main, { id }) {
  if (!active || active.sessionId !== id || !active.redrawing) connectAnew(id);
  const hash = location.hash;
  onLeave(() => {
    const r = active;
    if (!r) return;
    r.draw = null;
    // The same page drawn again (a language switch) takes the connection over; any other
    // page, or signing out, ends it now, while the live channel can still carry the bye.
    if (location.hash !== hash || !auth.user()) {
      active = null;
      r.dispose();
      return;
    }
    r.redrawing = true;
    setTimeout(() => {
      if (r.redrawing && active === r) {
        active = null;
        r.dispose();
      }
    }, keepMs);
  });
  drawPage(main, /** @type {Remote} */ (active));
}

/**
 * connectAnew ends the tab's remote connection, if any, and starts one to the session.
 * @param {string} id
 */
function connectAnew(id) {
  if (active) active.dispose();
  active = new Remote(id);
  active.start();
}

/**
 * sentence is a notice in words; sizes among its values are shown as sizes.
 * @param {Remote} r
 * @param {Notice} n
 */
function sentence(r, n) {
  /** @type {Record<string, unknown>} */
  const vars = { hostname: r.hostname || r.sessionId, username: auth.hiddenUsername, shell: r.terminal.shell, detail: "", ...n.vars };
  for (const k of ["size", "done", "max"]) {
    if (typeof vars[k] === "number") vars[k] = fmtBytes(/** @type {number} */ (vars[k]));
  }
  return t(n.key, vars);
}

/**
 * drawPage builds the page for the connection and keeps it current.
 * @param {HTMLElement} main
 * @param {Remote} r
 */
function drawPage(main, r) {
  const username = auth.hiddenUsername;
  main.append(title("remoteTitle"));
  const intro = h("p", { class: "intro", id: "remote-intro" });
  const status = h("p", { id: "remote-status", class: "remote-status", role: "status", "aria-live": "polite" });
  const disconnect = h("button", { type: "button", class: "danger", id: "remote-disconnect", text: t("remoteDisconnect"), onclick: () => r.disconnect() });
  const retry = h("button", {
    type: "button", id: "remote-retry", text: t("remoteRetry"),
    onclick: () => {
      connectAnew(r.sessionId);
      main.replaceChildren();
      drawPage(main, /** @type {Remote} */ (active));
      /** @type {HTMLElement | null} */ (main.querySelector("h1"))?.focus();
    },
  });
  const back = h("a", { href: "#/computers", class: "button secondary", id: "remote-back", text: t("remoteBack") });

  // The terminal: the password first, then xterm.js.
  const pw = h("input", {
    id: "remote-password", name: "remote-password", type: "password", autocomplete: "off", spellcheck: "false",
    autocapitalize: "off", "aria-describedby": "remote-password-hint remote-login-error",
  });
  const loginError = h("p", { id: "remote-login-error", class: "field-error", role: "alert" });
  const loginButton = h("button", { type: "submit", id: "remote-login-submit", text: t("remoteLogin") });
  const login = h("form", { id: "remote-login", class: "remote-login", novalidate: true },
    h("label", { for: "remote-password", text: t("remotePassword", { username }) }),
    h("p", { class: "hint", id: "remote-password-hint", text: t("remotePasswordHint") }),
    h("div", { class: "row" }, pw, loginButton),
    loginError);
  login.addEventListener("submit", (e) => {
    e.preventDefault();
    const password = pw.value;
    pw.value = ""; // out of the field at once; the terminal sends it and keeps no copy
    if (!password) {
      loginError.textContent = t("remotePasswordEmpty");
      pw.focus();
      return;
    }
    r.terminal.login(password);
  });
  const terminalBox = h("div", { id: "terminal", class: "terminal", role: "region", "aria-label": t("remoteTerminalLabel", { hostname: r.hostname }) });
  terminalBox.append(r.terminal.host);

  // Files.
  const filesHint = h("p", { class: "hint", id: "files-hint", text: t("remoteFilesHint", { username }) });
  const upload = h("input", { type: "file", id: "upload", name: "upload" });
  const uploadPath = h("input", { type: "text", id: "upload-path", name: "upload-path", autocomplete: "off", spellcheck: "false", "aria-describedby": "upload-path-hint" });
  const uploadSend = h("button", { type: "submit", id: "upload-send", text: t("uploadSend") });
  const uploadProgress = h("progress", { id: "upload-progress", max: 1, value: 0, hidden: true });
  const uploadStatus = h("p", { id: "upload-status", class: "transfer-status", role: "status" });
  const uploadForm = h("form", { id: "upload-form", class: "transfer", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "upload", text: t("upload") }), upload),
    h("div", { class: "field" }, h("label", { for: "upload-path", text: t("uploadPath") }),
      h("p", { class: "hint", id: "upload-path-hint", text: t("uploadPathHint", { username }) }), uploadPath),
    uploadSend, uploadProgress, uploadStatus);
  uploadForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const file = upload.files && upload.files[0];
    if (!file) {
      uploadStatus.dataset.state = "failed";
      uploadStatus.textContent = t("uploadChoose");
      return;
    }
    r.files.upload(file, uploadPath.value.trim());
  });
  const downloadPath = h("input", { type: "text", id: "download-path", name: "download-path", autocomplete: "off", spellcheck: "false", "aria-describedby": "download-hint" });
  const downloadSend = h("button", { type: "submit", id: "download-send", text: t("downloadSend") });
  const downloadProgress = h("progress", { id: "download-progress", max: 1, value: 0, hidden: true });
  const downloadStatus = h("p", { id: "download-status", class: "transfer-status", role: "status" });
  const downloadSave = h("a", { id: "download-save", class: "button secondary small", hidden: true });
  const downloadForm = h("form", { id: "download-form", class: "transfer", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "download-path", text: t("download") }),
      h("p", { class: "hint", id: "download-hint", text: t("downloadHint") }), downloadPath),
    downloadSend, downloadProgress, downloadStatus, downloadSave);
  downloadForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const path = downloadPath.value.trim();
    if (!path) {
      downloadStatus.dataset.state = "failed";
      downloadStatus.textContent = t("downloadPathEmpty");
      return;
    }
    r.files.download(path);
  });

  const screenView = drawScreen(r);

  main.append(intro,
    h("div", { class: "remote-bar" }, status, h("div", { class: "actions" }, disconnect, retry, back)),
    screenView.section,
    h("section", { class: "remote-terminal", "aria-labelledby": "terminal-title" },
      h("h2", { id: "terminal-title", text: t("remoteTerminal") }), login, terminalBox),
    h("section", { class: "remote-files", "aria-labelledby": "files-title" },
      h("h2", { id: "files-title", text: t("remoteFiles") }), filesHint, h("div", { class: "transfers" }, uploadForm, downloadForm)));

  let savedUrl = ""; // the download handed to the browser already
  const draw = () => {
    const over = r.over;
    intro.textContent = t("remoteIntro", { hostname: r.hostname || r.sessionId, username });
    terminalBox.setAttribute("aria-label", t("remoteTerminalLabel", { hostname: r.hostname || r.sessionId }));
    const key = r.state === "connected" && r.terminal.state === "in" ? "remoteSignedIn" : r.sentence.key;
    status.dataset.state = r.state;
    status.textContent = sentence(r, { key, vars: r.sentence.vars });
    disconnect.hidden = over;
    retry.hidden = !over;

    const term = r.terminal;
    login.hidden = term.state === "in" || over;
    pw.disabled = term.state === "checking";
    loginButton.disabled = term.state !== "out";
    loginError.textContent = term.notice ? sentence(r, term.notice) : "";
    loginError.classList.toggle("field-error", Boolean(term.notice && term.notice.key !== "remoteLoginWait"));
    loginError.classList.toggle("hint", Boolean(term.notice && term.notice.key === "remoteLoginWait"));
    if (term.attemptsLeft === null) delete loginError.dataset.attemptsLeft;
    else loginError.dataset.attemptsLeft = String(term.attemptsLeft);

    // Files are read and written as the signed-in account.
    const ready = term.state === "in" && !over;
    filesHint.hidden = ready;
    uploadSend.disabled = !ready || r.files.busy("up");
    downloadSend.disabled = !ready || r.files.busy("down");
    drawTransfer(r, r.files.up, uploadProgress, uploadStatus, "up");
    drawTransfer(r, r.files.down, downloadProgress, downloadStatus, "down");
    const down = r.files.down;
    downloadSave.hidden = !(down && down.url);
    if (down && down.url) {
      downloadSave.href = down.url;
      downloadSave.download = down.name;
      downloadSave.textContent = t("downloadSave", { name: down.name });
      if (savedUrl !== down.url) {
        savedUrl = down.url;
        downloadSave.click(); // hand it to the browser's downloads at once
      }
    }
  };
  r.redrawing = false;
  r.draw = () => {
    draw();
    screenView.draw();
  };
  if (r.files.down && r.files.down.url) savedUrl = r.files.down.url; // handed over on an earlier drawing
  r.draw();
  r.terminal.ready.then(() => r.terminal.refit(), () => {});
}

/**
 * drawScreen builds the screen's part of the page: the canvas (the connection's own, so
 * that a redraw keeps its picture), its controls and the clipboard.
 * @param {Remote} r
 * @returns {{ section: HTMLElement, draw: () => void }}
 */
function drawScreen(r) {
  const sc = r.screen;
  const displaySelect = h("select", { id: "screen-display", name: "screen-display", onchange: () => sc.chooseDisplay(Number(displaySelect.value)) });
  const qualitySelect = h("select", { id: "screen-quality", name: "screen-quality", onchange: () => sc.chooseQuality(Number(qualitySelect.value)) },
    ...qualities.map((q) => h("option", { value: String(q), text: t(qualityKey(q), { q }) })));
  const scaleSelect = h("select", { id: "screen-scale", name: "screen-scale", onchange: () => sc.chooseScale(scaleSelect.value === "actual" ? "actual" : "fit") },
    h("option", { value: "fit", text: t("screenScaleFit") }),
    h("option", { value: "actual", text: t("screenScaleActual") }));
  const sas = h("button", { type: "button", id: "screen-sas", class: "secondary small", text: t("screenSAS"), title: t("screenSASHint"), onclick: () => sc.sas() });
  const refresh = h("button", { type: "button", id: "screen-refresh", class: "secondary small", text: t("screenRefresh"), onclick: () => sc.refresh() });
  const view = h("div", { id: "screen-view", class: "screen-view" });
  const full = h("button", {
    type: "button", id: "screen-fullscreen", class: "secondary small",
    onclick: () => {
      if (document.fullscreenElement) {
        document.exitFullscreen().catch(() => {});
        return;
      }
      view.requestFullscreen().then(() => {
        // Full screen lets a page keep Escape, Alt+Tab and the like for the PC (Chromium);
        // holding Escape still leaves it.
        /** @type {{ keyboard?: { lock?: () => Promise<void> } }} */
        const nav = /** @type {any} */ (navigator);
        if (nav.keyboard && nav.keyboard.lock) nav.keyboard.lock().catch(() => {});
        sc.canvas.focus({ preventScroll: true });
      }, () => {});
    },
  });
  const field = (/** @type {string} */ id, /** @type {Key} */ key, /** @type {HTMLElement} */ control) =>
    h("div", { class: "screen-field" }, h("label", { for: id, text: t(key) }), control);
  const toolbar = h("div", { class: "screen-toolbar", role: "toolbar", "aria-label": t("screenTools") },
    field("screen-display", "screenDisplay", displaySelect),
    field("screen-quality", "screenQuality", qualitySelect),
    field("screen-scale", "screenScale", scaleSelect),
    sas, refresh, full);
  const keyboard = h("p", { id: "screen-keyboard", class: "hint screen-keyboard" });
  const secure = h("p", { id: "screen-secure", class: "screen-secure", role: "status" });
  const screenStatus = h("p", { id: "screen-status", class: "screen-status", role: "status" });
  sc.canvas.setAttribute("aria-describedby", "screen-keyboard");
  view.append(toolbar, keyboard, secure, sc.stage);
  view.addEventListener("fullscreenchange", () => drawNow());

  // The clipboard: a field between the two computers, and explicit buttons either way.
  const clipText = h("textarea", { id: "clipboard-text", name: "clipboard-text", rows: 4, spellcheck: "false", "aria-describedby": "clipboard-hint" });
  const clipSend = h("button", { type: "button", id: "clipboard-send", text: t("clipboardSend"), onclick: () => sc.sendClipboard(clipText.value) });
  const clipGet = h("button", { type: "button", id: "clipboard-get", class: "secondary", text: t("clipboardGet"), onclick: () => sc.askClipboard() });
  const clipType = h("button", { type: "button", id: "clipboard-type", class: "secondary", text: t("clipboardType"), onclick: () => sc.typeText(clipText.value) });
  const clipStatus = h("p", { id: "clipboard-status", class: "transfer-status", role: "status" });
  const clipboard = h("div", { class: "clipboard transfer" },
    h("label", { for: "clipboard-text", text: t("clipboardLabel") }),
    h("p", { class: "hint", id: "clipboard-hint", text: t("clipboardHint") }),
    clipText, h("div", { class: "row-actions" }, clipSend, clipGet, clipType), clipStatus);

  const section = h("section", { class: "remote-screen", "aria-labelledby": "screen-title" },
    h("h2", { id: "screen-title", text: t("remoteScreen") }), screenStatus, view, clipboard);

  let displaysShown = "";
  let clipboardShown = 0; // a redraw shows the last text that arrived again
  const drawNow = () => {
    const hostname = r.hostname || r.sessionId;
    const live = sc.state === "showing" && !r.over;
    sc.canvas.setAttribute("aria-label", t("remoteScreenLabel", { hostname }));
    screenStatus.dataset.state = sc.state;
    const d = sc.displays[sc.display];
    if (sc.state === "showing" && d) {
      screenStatus.textContent = t("screenShowing", { hostname, n: sc.display + 1, count: sc.displays.length, width: sc.canvas.width, height: sc.canvas.height });
    } else if (sc.state === "waiting" && !r.over) {
      screenStatus.textContent = t(r.state === "connected" ? "screenWaiting" : "screenNotYet", { hostname });
    } else if (sc.state === "unavailable" && sc.notice) {
      screenStatus.textContent = t(sc.notice.key, { hostname, ...sc.notice.vars });
    } else {
      screenStatus.textContent = r.over ? t("screenEnded") : "";
    }
    if (sc.notice && sc.state === "showing") screenStatus.textContent += " " + t(sc.notice.key, { hostname, ...sc.notice.vars });

    const names = JSON.stringify(sc.displays);
    if (names !== displaysShown) {
      displaysShown = names;
      displaySelect.replaceChildren(...sc.displays.map((x, i) => h("option", {
        value: String(i),
        text: t(x.primary ? "screenDisplayPrimary" : "screenDisplayOption", { n: i + 1, name: x.name || "", width: x.width, height: x.height }),
      })));
    }
    displaySelect.value = String(sc.display);
    displaySelect.disabled = !live || sc.displays.length < 2;
    qualitySelect.value = String(sc.quality);
    qualitySelect.disabled = !live;
    scaleSelect.value = sc.scale;
    sas.disabled = !live;
    refresh.disabled = !live;
    full.disabled = !live && !document.fullscreenElement;
    full.textContent = t(document.fullscreenElement === view ? "screenFullscreenLeave" : "screenFullscreen");
    view.hidden = sc.state === "unavailable";
    keyboard.dataset.captured = String(sc.captured);
    keyboard.textContent = t(sc.captured ? "screenKeyboardCaptured" : "screenKeyboardFree");
    keyboard.hidden = !live;
    secure.hidden = !(live && sc.secure);
    secure.textContent = t("screenSecure");

    clipboard.hidden = sc.state === "unavailable";
    const channel = !r.over && sc.state !== "unavailable";
    clipSend.disabled = !channel;
    clipGet.disabled = !channel;
    clipType.disabled = !live;
    if (sc.clipboardSeq !== clipboardShown) {
      clipboardShown = sc.clipboardSeq;
      clipText.value = sc.clipboardText;
    }
    clipStatus.textContent = sc.clipboardNotice ? sentence(r, sc.clipboardNotice) : "";
  };
  return { section, draw: drawNow };
}

/**
 * qualityKey names a quality of the picker.
 * @param {number} q
 * @returns {Key}
 */
function qualityKey(q) {
  if (q <= 30) return "screenQualityLow";
  if (q <= 50) return "screenQualityMedium";
  if (q <= 70) return "screenQualityGood";
  return "screenQualityBest";
}

/**
 * drawTransfer shows an upload's or a download's progress and outcome.
 * @param {Remote} r
 * @param {Transfer | null} x
 * @param {HTMLProgressElement} bar
 * @param {HTMLElement} line
 * @param {"up" | "down"} dir
 */
function drawTransfer(r, x, bar, line, dir) {
  if (!x) {
    bar.hidden = true;
    return;
  }
  line.dataset.state = x.state;
  bar.hidden = x.state === "done" || x.state === "failed";
  bar.max = Math.max(1, x.size);
  bar.value = x.bytes;
  /** @type {Record<Transfer["state"], Key>} */
  const keys = dir === "up"
    ? { reading: "uploadReading", asking: "uploadReading", sending: "uploadSending", receiving: "uploadSending", checking: "uploadChecking", done: "uploadDone", failed: "fileIO" }
    : { reading: "downloadAsking", asking: "downloadAsking", sending: "downloadReceiving", receiving: "downloadReceiving", checking: "downloadChecking", done: "downloadDone", failed: "fileIO" };
  const notice = x.state === "failed" && x.notice ? x.notice : { key: keys[x.state], vars: { name: x.name, path: x.path, size: x.size, done: x.bytes } };
  line.textContent = sentence(r, notice);
}
