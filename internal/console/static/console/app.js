// @ts-check
// The technician console: hash routes #/adhoc, #/computers, #/account, #/sessions/<id>,
// #/sessions/<id>/remote.
// This module is the entry: it routes, draws the layout around the page (the skip link,
// the local mode banner, the header with the navigation, the language switch, the live
// badge and the sign-out) and starts. The pages are modules of their own; they follow
// changes through the live channel (live.js) and poll only while it is not open (page.js).

import { h, replace } from "./dom.js";
import { t, lang, setLang, languages } from "./i18n.js";
import { configure } from "./api.js";
import * as auth from "./auth.js";
import * as live from "./live.js";
import { leave } from "./page.js";
import { pageSignIn, setNotice } from "./signin.js";
import { pageAdhoc, forget } from "./adhoc.js";
import { pageSession } from "./session.js";
import { pageComputers } from "./computers.js";
import { pageAccount } from "./account.js";
import { pageRemote } from "./remote.js";

/** @import { User } from "./auth.js" */
/** @import { Key } from "./i18n.js" */
/** @import { State } from "./live.js" */
/** @import { RenderOptions } from "./page.js" */

/**
 * Route is the page the hash names, with its parameters; "signin" when nobody is signed in.
 * @typedef {{ page: "signin" | "adhoc" | "computers" | "account" } | { page: "session" | "remote", id: string }} Route
 */

const root = /** @type {HTMLElement} */ (document.getElementById("app")); // index.html has it

configure({
  token: auth.token,
  unauthorized: () => {
    auth.expire();
    setNotice("signinExpired");
    render();
  },
});

/** @returns {Route} */
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "sessions" && parts[1] && parts[2] === "remote") return { page: "remote", id: decodeURIComponent(parts[1]) };
  if (parts[0] === "sessions" && parts[1]) return { page: "session", id: decodeURIComponent(parts[1]) };
  if (parts[0] === "computers" || parts[0] === "account") return { page: parts[0] };
  return { page: "adhoc" };
}

// --- layout --------------------------------------------------------------------------------

/**
 * render draws the page the route names, after leaving the one on screen.
 * @param {RenderOptions} [options]
 */
function render({ focus = false, focusId = "" } = {}) {
  const alive = leave();
  const u = auth.user();
  /** @type {Route} */
  const r = u ? route() : { page: "signin" };
  if (u) live.start();
  else live.stop(); // the next technician connects with a ticket of their own

  const main = h("main", { id: "main", tabindex: "-1" });
  const skip = h("a", { class: "skip", href: "#main", text: t("skip") });
  skip.addEventListener("click", (e) => {
    e.preventDefault(); // the hash is the route
    main.focus();
  });
  replace(root,
    skip,
    auth.mode === "local" ? h("p", { class: "banner", id: "mode-banner", role: "note", text: t("localBanner") }) : null,
    header(u, r.page),
    main);

  if (!u || r.page === "signin") pageSignIn(main, { render });
  else if (r.page === "session") pageSession(main, { id: r.id, user: u, alive, render });
  else if (r.page === "remote") pageRemote(main, { id: r.id, user: u, alive, render });
  else {
    const pages = { adhoc: pageAdhoc, computers: pageComputers, account: pageAccount };
    pages[r.page](main, { user: u, alive, render });
  }

  if (focusId) document.getElementById(focusId)?.focus();
  else if (focus) (main.querySelector("h1") || main).focus();
}

/**
 * @param {User | null} u
 * @param {Route["page"]} page
 */
function header(u, page) {
  /**
   * @param {string} href
   * @param {Key} key
   * @param {Route["page"]} name
   */
  const link = (href, key, name) =>
    h("li", {}, h("a", { href, id: `nav-${name}`, "aria-current": page === name || (page === "remote" && name === "computers") ? "page" : null, text: t(key) }));
  const select = h("select", { id: "lang", onchange: (e) => {
    setLang(/** @type {HTMLSelectElement} */ (e.target).value);
    render({ focusId: "lang" });
  } }, languages.map((l) => h("option", { value: l, selected: l === lang, text: t(l === "de" ? "langDe" : "langEn") })));
  return h("header", { class: "top" },
    h("div", { class: "brand" }, h("img", { src: "/console/icon.svg", alt: "", width: 28, height: 28 }), h("span", { text: t("app") })),
    u ? h("nav", { "aria-label": t("nav") }, h("ul", {},
      link("#/adhoc", "navAdhoc", "adhoc"),
      link("#/computers", "navComputers", "computers"),
      link("#/account", "navAccount", "account"))) : null,
    h("div", { class: "tools" },
      h("label", { for: "lang", class: "visually-hidden", text: t("language") }), select,
      u ? liveBadge() : null,
      u ? h("span", { class: "who", id: "who", text: t("signedInAs", { email: u.email }) }) : null,
      u ? h("button", { type: "button", class: "secondary small", id: "sign-out", onclick: signOut, text: t("signOut") }) : null));
}

/** liveBadge says whether the pages follow changes live or check every few seconds. */
function liveBadge() {
  const el = h("span", { id: "live-state", class: "live-state", role: "status" });
  showLive(el, live.current());
  return el;
}

/** @type {Partial<Record<State, [Key, Key]>>} */
const liveTexts = {
  [live.LIVE]: ["liveOn", "liveOnLabel"],
  [live.POLLING]: ["livePolling", "livePollingLabel"],
  [live.CONNECTING]: ["liveConnecting", "liveConnectingLabel"],
};

/**
 * @param {HTMLElement} el the badge
 * @param {State} state
 */
function showLive(el, state) {
  const keys = liveTexts[state];
  el.hidden = !keys;
  if (!keys) return;
  el.dataset.state = state;
  el.textContent = t(keys[0]);
  el.title = t(keys[1]);
  el.setAttribute("aria-label", t(keys[1]));
}

function signOut() {
  forget();
  if (auth.signOut()) return; // on the way to the hosted UI's logout
  location.hash = "#/adhoc";
  render({ focus: true });
}

// --- start ----------------------------------------------------------------------------------

async function boot() {
  auth.restore();
  const r = await auth.completeHostedSignIn();
  if (r.done && r.error) {
    if (r.error === "state") setNotice("signinStateMismatch");
    else setNotice("", t("signinFailed", { detail: r.error }));
  }
  window.addEventListener("hashchange", () => render({ focus: true }));
  // The badge follows the channel in place: a page is not redrawn for it.
  live.onState((state) => {
    const el = document.getElementById("live-state");
    if (el) showLive(el, state);
  });
  render();
}

boot();
