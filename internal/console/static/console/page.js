// @ts-check
// The page on screen: the timers and hooks it holds, dropped when it is left, and how it
// follows changes: through the live channel (live.js) while that is open, by polling only
// while it is not.

import * as live from "./live.js";

/** @import { SessionView } from "./api.js" */
/** @import { User } from "./auth.js" */

/**
 * RenderOptions say where the keyboard focus goes on the page drawn: its h1 (focus), or
 * the element with the id focusId.
 * @typedef {{ focus?: boolean, focusId?: string }} RenderOptions
 */

/**
 * Context is what a page is drawn with: the route's parameters, the technician, whether it
 * is still on screen (answers that arrive after it was left are dropped), and how to draw
 * the page of the route anew.
 * @typedef {object} Context
 * @property {User} user
 * @property {() => boolean} alive
 * @property {(options?: RenderOptions) => void} render
 * @property {string} [id] the session of #/sessions/<id>
 */

export const pollMs = 2500; // a session being set up: the technician waits on the page
export const listPollMs = 5000; // the computer group and the account

/** @type {(() => void)[]} */
let cleanups = []; // timers and hooks of the page on screen
let generation = 0; // answers that arrive after the page changed are dropped

/**
 * leave drops the timers and hooks of the page on screen, for the next one; it returns
 * alive, which reports whether that next page is still the one on screen.
 * @returns {() => boolean}
 */
export function leave() {
  for (const f of cleanups) f();
  cleanups = [];
  const gen = ++generation;
  return () => gen === generation;
}

/**
 * onLeave runs fn when the page on screen is left.
 * @param {() => void} fn
 */
export function onLeave(fn) {
  cleanups.push(fn);
}

/**
 * every runs fn every ms while the page is on screen.
 * @param {number} ms
 * @param {() => void} fn
 */
export function every(ms, fn) {
  const id = setInterval(fn, ms);
  onLeave(() => clearInterval(id));
}

/**
 * follow keeps a page current: load now; then, while the live channel is open, push(view)
 * for every session pushed and load once after every (re)connect (what a drop lost); and
 * only while it is not open, tick (default: load) every ms as before.
 * @param {object} how
 * @param {number} how.ms
 * @param {() => void} how.load
 * @param {(view: SessionView) => void} how.push
 * @param {() => void} [how.tick]
 */
export function follow({ ms, load, push, tick = load }) {
  let timer = 0;
  /** @param {boolean} on */
  const poll = (on) => {
    if (on && !timer) timer = setInterval(tick, ms);
    if (!on && timer) {
      clearInterval(timer);
      timer = 0;
    }
  };
  const offState = live.onState((state) => {
    poll(state === live.POLLING);
    if (state === live.LIVE) load();
  });
  const offSession = live.onSession(push);
  onLeave(() => {
    offState();
    offSession();
    poll(false);
  });
  poll(live.current() === live.POLLING);
  load();
}

/**
 * serial makes fn run once at a time: calls while it runs make it run once more after.
 * @param {() => Promise<void>} fn
 * @returns {() => Promise<void>}
 */
export function serial(fn) {
  let busy = false;
  let again = false;
  return async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await fn();
      } while (again);
    } finally {
      busy = false;
    }
  };
}
