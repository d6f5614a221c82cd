// @ts-check
// The live channel (DESIGN.md, "Live channel"): one WebSocket per console tab, opened with
// a one-use ticket from POST /v1/live/tickets. The server pushes {"type":"session", …} within
// a second of every change of a session this technician may see, so the pages need not
// poll. Remote access (remote.js) sends its WebRTC signals on it and hears the PC's. When there is no channel (a deployment without one answers the ticket route with
// 404; a proxy may refuse WebSockets), the pages poll as they always did. Every (re)connect
// tells them to reload once: a push that went out during a drop is caught up that way.

import { api, ApiError } from "./api.js";

/** @import { LiveTicket, SessionView } from "./api.js" */

// The messages on the console's channel, as api/asyncapi.yaml gives them (channel
// "console"). The console sends pings and a remote connection's signals; it acts on
// "session", "signal" and "error"; a pong shows that the connection is alive.
/**
 * @typedef {{ action: "ping" }} PingMessage
 * @typedef {{ action: "signal", sessionId: string, remoteId: string, signal: Signal }} SignalAction
 * @typedef {PingMessage | SignalAction} ClientMessage
 * @typedef {{ type: "session" } & SessionView} SessionMessage
 * @typedef {{ type: "signal", sessionId: string, remoteId: string, signal: Signal }} SignalMessage
 * @typedef {{ type: "pong" }} PongMessage
 * @typedef {{ type: "error", code: "malformed" | "unknown_action" | "too_large" | "no_remote" | "internal_error", message?: string }} ErrorMessage
 * @typedef {SessionMessage | SignalMessage | PongMessage | ErrorMessage} ServerMessage
 */

/**
 * Signal is what the two ends of a remote connection tell each other through the server
 * (remote-protocol: an offer, an answer, an ICE candidate — null ends the trickle — or a bye).
 * @typedef {{ kind: "offer" | "answer", sdp: string }
 *   | { kind: "candidate", candidate: RTCIceCandidateInit | null }
 *   | { kind: "bye", reason: string }} Signal
 */

/**
 * State is the channel's state as the pages see it.
 * @typedef {typeof OFF | typeof CONNECTING | typeof LIVE | typeof POLLING} State
 */

// States as the pages see them.
export const OFF = "off"; // signed out
export const CONNECTING = "connecting"; // a first attempt, or a quick one after a drop: pages wait
export const LIVE = "live"; // pushes arrive: pages do not poll
export const POLLING = "polling"; // no channel for now (or for good): pages poll

const pingMs = 5 * 60 * 1000; // API Gateway closes a connection after 10 idle minutes
const pongWaitMs = 20 * 1000; // no answer to a ping: the connection died without a close
const attemptMs = 5000; // a ticket and a handshake that take longer count as failed
const retryMinMs = 1000;
const retryMaxMs = 60 * 1000;
const steadyMs = 60 * 1000; // a connection that held this long was no flap: retry fast again

/** pingMessage is the keep-alive the console sends (api/asyncapi.yaml, "ping"). */
export const pingMessage = JSON.stringify(/** @type {PingMessage} */ ({ action: "ping" }));

/** @type {State} */
let state = OFF;
let run = 0; // bumped by start and stop: callbacks of an earlier run do nothing
/** @type {WebSocket | null} */
let socket = null; // the open connection
let tries = 0; // drops and failed attempts since the last steady connection: the backoff
let unavailable = false; // the deployment has no live channel: do not ask again
let attempting = false; // a ticket or a handshake is under way
const timers = { retry: 0, ping: 0, pong: 0, steady: 0 };
/** @type {Set<(state: State) => void>} */
const stateListeners = new Set();
/** @type {Set<(view: SessionView) => void>} */
const sessionListeners = new Set();
/** @type {Map<string, Set<(signal: Signal) => void>>} */
const signalListeners = new Map(); // by remoteId
/** @type {Set<(error: ErrorMessage) => void>} */
const errorListeners = new Set();

/**
 * current is the state: OFF, CONNECTING, LIVE or POLLING.
 * @returns {State}
 */
export function current() {
  return state;
}

/**
 * onState calls fn(state) on every change; it returns the function that stops that.
 * @param {(state: State) => void} fn
 * @returns {() => void}
 */
export function onState(fn) {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

/**
 * onSession calls fn(view) with every session pushed (the view of GET /v1/sessions/{id}).
 * @param {(view: SessionView) => void} fn
 * @returns {() => void}
 */
export function onSession(fn) {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}

/**
 * onSignal calls fn(signal) with every signal of the remote connection remoteId that the
 * server relays from the PC; it returns the function that stops that.
 * @param {string} remoteId
 * @param {(signal: Signal) => void} fn
 * @returns {() => void}
 */
export function onSignal(remoteId, fn) {
  let set = signalListeners.get(remoteId);
  if (!set) signalListeners.set(remoteId, (set = new Set()));
  set.add(fn);
  return () => {
    set.delete(fn);
    if (!set.size && signalListeners.get(remoteId) === set) signalListeners.delete(remoteId);
  };
}

/**
 * onError calls fn(error) with every error the server answers on the channel (a signal it
 * would not relay: "no_remote"); it returns the function that stops that.
 * @param {(error: ErrorMessage) => void} fn
 * @returns {() => void}
 */
export function onError(fn) {
  errorListeners.add(fn);
  return () => errorListeners.delete(fn);
}

/**
 * send sends a message now; it reports whether a connection was open to send it on. A
 * message is never queued: a signal that waited for a reconnect would reach a server that
 * no longer relays it for this connection.
 * @param {ClientMessage} message
 */
export function send(message) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(message));
  return true;
}

/**
 * whenOpen resolves true once the channel is open, at once if it is; false after ms, or
 * as soon as the deployment turns out to have no live channel.
 * @param {number} ms
 * @returns {Promise<boolean>}
 */
export function whenOpen(ms) {
  if (state === LIVE) return Promise.resolve(true);
  if (unavailable) return Promise.resolve(false);
  return new Promise((resolve) => {
    /** @param {boolean} ok */
    const done = (ok) => {
      clearTimeout(timer);
      off();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    const off = onState((s) => {
      if (s === LIVE) done(true);
      else if (unavailable || s === OFF) done(false);
    });
  });
}

/** start connects for the signed-in technician; it does nothing while already started. */
export function start() {
  if (state !== OFF) return;
  const my = ++run;
  tries = 0;
  if (unavailable) {
    setState(POLLING);
    return;
  }
  setState(CONNECTING);
  attempt(my);
}

/** stop closes the connection (sign-out: the next technician gets a ticket of their own). */
export function stop() {
  run++;
  attempting = false; // an attempt of the earlier run ends on its own, unheard
  hangUp();
  clearTimeout(timers.retry);
  setState(OFF);
}

/** ping sends a ping now; it reports whether a connection was open to send it on. */
export function ping() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(pingMessage);
  clearTimeout(timers.pong);
  const ws = socket;
  timers.pong = setTimeout(() => dropped(run, ws), pongWaitMs);
  return true;
}

/** @param {State} s */
function setState(s) {
  if (s === state) return;
  state = s;
  for (const fn of [...stateListeners]) fn(s);
}

/** backoff is the wait before the next attempt: doubling, capped, with jitter so that the
 * tabs of a whole office do not all come back in the same second after an outage.
 * @param {number} n the failures so far
 */
function backoff(n) {
  const ms = Math.min(retryMaxMs, retryMinMs * 2 ** n);
  return ms / 2 + Math.random() * (ms / 2);
}

/** @param {number} my the run that retries */
function retryLater(my) {
  clearTimeout(timers.retry);
  timers.retry = setTimeout(() => {
    if (my === run) attempt(my);
  }, backoff(tries++));
}

/**
 * attempt asks for a ticket and opens the WebSocket; a failure falls back to polling.
 * @param {number} my the run it belongs to
 */
async function attempt(my) {
  const abort = new AbortController();
  /** @type {WebSocket | null} */
  let ws = null;
  let settled = false;
  attempting = true;
  /** @param {boolean} retry */
  const fail = (retry) => {
    if (settled || my !== run) return;
    settled = true;
    attempting = false;
    clearTimeout(deadline);
    abort.abort();
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
    setState(POLLING);
    if (retry) retryLater(my);
  };
  const deadline = setTimeout(() => fail(true), attemptMs);
  /** @type {LiveTicket} */
  let ticket;
  try {
    ticket = await api("POST", "/v1/live/tickets", undefined, { signal: abort.signal });
  } catch (err) {
    // 404: this deployment has no live channel, polling is how it works. 401: api.js has
    // sent the technician to the sign-in page, which stops this run.
    const status = err instanceof ApiError ? err.status : undefined;
    if (status === 404) unavailable = true;
    fail(status !== 404 && status !== 401);
    return;
  }
  if (settled || my !== run) return;
  try {
    ws = new WebSocket(ticket.url);
  } catch {
    fail(true); // a URL the browser refuses (the CSP, for one)
    return;
  }
  ws.onclose = () => fail(true); // refused or failed before it opened
  ws.onopen = () => {
    if (settled || my !== run) {
      ws.onclose = null;
      ws.close();
      return;
    }
    settled = true;
    attempting = false;
    clearTimeout(deadline);
    opened(my, ws);
  };
}

/**
 * @param {number} my the run it belongs to
 * @param {WebSocket} ws the connection that just opened
 */
function opened(my, ws) {
  socket = ws;
  ws.onmessage = (e) => received(e.data);
  ws.onclose = () => dropped(my, ws);
  timers.ping = setInterval(ping, pingMs);
  timers.steady = setTimeout(() => {
    tries = 0;
  }, steadyMs);
  setState(LIVE);
}

/** dropped handles the end of an open connection: API Gateway closes every one after two
 * hours, networks fail. The first retry comes quickly and the pages wait for it; after
 * that they poll until a connection holds again.
 * @param {number} my the run it belongs to
 * @param {WebSocket} ws the connection that ended
 */
function dropped(my, ws) {
  if (my !== run || socket !== ws) return;
  hangUp();
  setState(tries === 0 ? CONNECTING : POLLING);
  retryLater(my);
}

function hangUp() {
  clearInterval(timers.ping);
  clearTimeout(timers.pong);
  clearTimeout(timers.steady);
  if (!socket) return;
  const ws = socket;
  socket = null;
  ws.onclose = null;
  ws.onmessage = null;
  ws.close();
}

/** @param {unknown} data a message's payload */
function received(data) {
  clearTimeout(timers.pong); // any message shows that the connection is alive
  /** @type {ServerMessage | null} */
  let m;
  try {
    m = JSON.parse(/** @type {string} */ (data));
  } catch {
    return; // not ours to act on; the server's messages are JSON objects
  }
  if (!m || typeof m !== "object") return;
  switch (m.type) {
    case "session": {
      if (typeof m.id !== "string") return;
      /** @type {Partial<SessionMessage>} */
      const view = { ...m };
      delete view.type;
      for (const fn of [...sessionListeners]) fn(/** @type {SessionView} */ (view));
      return;
    }
    case "signal": {
      const fns = typeof m.remoteId === "string" && m.signal && typeof m.signal === "object" ? signalListeners.get(m.remoteId) : undefined;
      for (const fn of [...(fns || [])]) fn(m.signal);
      return;
    }
    case "error":
      for (const fn of [...errorListeners]) fn(m);
  }
}

// Back on the network: try now instead of at the end of a long backoff.
window.addEventListener("online", () => {
  if (state === POLLING && !unavailable && !socket && !attempting) {
    tries = 0;
    clearTimeout(timers.retry);
    attempt(run);
  }
});
