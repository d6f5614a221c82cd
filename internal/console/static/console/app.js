// The technician console: hash routes #/adhoc, #/computers, #/account, #/sessions/<id>.
// Secrets (the password and the security code) live only in this module's memory while
// the technician needs them; they never go into the URL, storage or the browser console.
// The pages follow changes through the live channel (live.js) and poll only while it is
// not open.

import { h, replace, confirmDialog } from "./dom.js";
import { t, lang, setLang, languages, fmtTime, fmtTimeSeconds, fmtLeft, fmtDuration, has } from "./i18n.js";
import { api, configure } from "./api.js";
import * as auth from "./auth.js";
import { checkPassword, generatePassword } from "./password.js";
import * as live from "./live.js";

const pollMs = 2500; // a session being set up: the technician waits on the page
const listPollMs = 5000; // the computer group and the account
const seenMs = 2 * 60 * 1000; // a PC without a live connection is online this long after a poll
const pendingStates = ["invited", "app_started"];
const terminalStates = ["cancelled", "invite_expired", "locked", "expired", "ended", "removed"];

const root = document.getElementById("app");
let cleanups = []; // timers and hooks of the page on screen
let generation = 0; // answers that arrive after the page changed are dropped
let noticeKey = ""; // a message for the sign-in page
let noticeText = "";

// What the technician typed on the Ad-hoc support page, kept across a language switch.
const draft = { email: "", password: "", locale: "", showPassword: false };
// The invitation just made: its secrets, shown until the technician leaves the page
// after it stopped pending (the code is needed until the user has typed it).
let prepared = null;

configure({
  token: auth.token,
  unauthorized: () => {
    auth.expire();
    noticeKey = "signinExpired";
    render();
  },
});

function every(ms, fn) {
  const id = setInterval(fn, ms);
  cleanups.push(() => clearInterval(id));
}

/**
 * follow keeps a page current: load now; then, while the live channel is open, push(view)
 * for every session pushed and load once after every (re)connect (what a drop lost); and
 * only while it is not open, tick (default: load) every ms as before.
 */
function follow({ ms, load, push, tick = load }) {
  let timer = 0;
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
  cleanups.push(() => {
    offState();
    offSession();
    poll(false);
  });
  poll(live.current() === live.POLLING);
  load();
}

/** serial makes fn run once at a time: calls while it runs make it run once more after. */
function serial(fn) {
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

// How far a session has come; it never goes back.
const progress = { invited: 0, app_started: 1, active: 2, removed: 4 };

/**
 * behind reports whether view a is older than view b of the same session: pushes from
 * separate commits may overtake each other, and a load may answer after a push.
 */
function behind(a, b) {
  const rank = (v) => progress[v.status] ?? 3;
  if (rank(a) !== rank(b)) return rank(a) < rank(b);
  return a.attemptsLeft > b.attemptsLeft; // wrong codes only ever add up
}

function isPending(status) {
  return pendingStates.includes(status);
}

function isTerminal(status) {
  return terminalStates.includes(status);
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "sessions" && parts[1]) return { page: "session", id: decodeURIComponent(parts[1]) };
  if (["computers", "account"].includes(parts[0])) return { page: parts[0] };
  return { page: "adhoc" };
}

// --- layout --------------------------------------------------------------------------------

function render({ focus = false, focusId = "" } = {}) {
  for (const f of cleanups) f();
  cleanups = [];
  const gen = ++generation;
  const alive = () => gen === generation;
  const u = auth.user();
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

  const pages = { signin: pageSignIn, adhoc: pageAdhoc, computers: pageComputers, account: pageAccount, session: pageSession };
  pages[r.page](main, { ...r, user: u, alive });

  if (focusId) document.getElementById(focusId)?.focus();
  else if (focus) (main.querySelector("h1") || main).focus();
}

function header(u, page) {
  const link = (href, key, name) =>
    h("li", {}, h("a", { href, id: `nav-${name}`, "aria-current": page === name ? "page" : null, text: t(key) }));
  const select = h("select", { id: "lang", onchange: (e) => {
    setLang(e.target.value);
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

const liveTexts = {
  [live.LIVE]: ["liveOn", "liveOnLabel"],
  [live.POLLING]: ["livePolling", "livePollingLabel"],
  [live.CONNECTING]: ["liveConnecting", "liveConnectingLabel"],
};

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
  prepared = null;
  Object.assign(draft, { email: "", password: "", locale: "", showPassword: false });
  if (auth.signOut()) return; // on the way to the hosted UI's logout
  location.hash = "#/adhoc";
  render({ focus: true });
}

function title(key) {
  document.title = `${t(key)} – ${t("app")}`;
  return h("h1", { tabindex: "-1", text: t(key) });
}

/** problem turns an API refusal into a sentence and, where there is one, what to do. */
function problem(err) {
  switch (err.code) {
    case "invalid_email":
      return { field: "email", text: t("errInvalidEmail") };
    case "weak_password":
      return { field: "password", text: t("errWeakPassword", { detail: err.detail }) };
    case "session_exists":
      return { text: t("errSessionExists"), href: err.sessionId ? `#/sessions/${encodeURIComponent(err.sessionId)}` : "#/computers", link: t("errSessionExistsLink") };
    case "no_free_slot":
      return { text: t("errNoFreeSlot"), href: "#/computers", link: t("errComputersLink") };
    case "adhoc_cap_reached":
      return { text: t("errCapReached"), href: "#/computers", link: t("errComputersLink") };
    case "mail_failed":
      return { text: t("errMailFailed") };
    case "unauthorized":
      return { text: t("errUnauthorized") };
    case "not_found":
      return { text: t("errNotFound") };
    case "network":
      return { text: t("errNetwork") };
    case "invalid_request":
      return { text: t("errInvalidRequest", { detail: err.detail }) };
  }
  return { text: t("errOther", { detail: err.detail || err.message || "" }) };
}

function problemBox(id, err) {
  const p = problem(err);
  return h("div", { class: "problem", id, role: "alert", "data-code": err.code },
    h("p", {}, p.text, p.href ? " " : null, p.href ? h("a", { href: p.href, id: `${id}-link`, text: p.link }) : null));
}

// --- sign-in -------------------------------------------------------------------------------

function pageSignIn(main) {
  main.append(title("signinTitle"));
  const notice = noticeKey ? t(noticeKey) : noticeText;
  if (notice) main.append(h("p", { class: "problem", id: "signin-notice", role: "alert", text: notice }));
  if (auth.mode === "aws") {
    main.append(h("p", { text: t("signinAwsIntro") }),
      h("button", { type: "button", id: "signin-hosted", onclick: () => auth.startHostedSignIn(location.hash), text: t("signinAwsButton") }));
    return;
  }
  const error = h("div", { id: "signin-error" });
  const email = h("input", { id: "signin-email", name: "email", type: "email", required: true, autocomplete: "username", spellcheck: "false" });
  const account = h("input", { id: "signin-account", name: "account", type: "text", required: true, value: "demo", autocomplete: "organization", spellcheck: "false" });
  const admin = h("input", { id: "signin-admin", name: "admin", type: "checkbox" });
  const submit = h("button", { type: "submit", id: "signin-submit", text: t("signinButton") });
  const form = h("form", { id: "signin-form", method: "post", novalidate: true, class: "card narrow" },
    h("div", { class: "field" }, h("label", { for: "signin-email", text: t("signinEmail") }), email),
    h("div", { class: "field" }, h("label", { for: "signin-account", text: t("signinAccount") }), account),
    h("div", { class: "field check" }, admin, h("label", { for: "signin-admin", text: t("signinAdmin") })),
    error, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    replace(error);
    if (!email.value.trim() || !email.checkValidity()) {
      replace(error, h("p", { class: "problem", role: "alert", text: t("errEmail") }));
      email.focus();
      return;
    }
    submit.disabled = true;
    try {
      await auth.signInLocal(email.value.trim(), account.value.trim(), admin.checked);
      noticeKey = "";
      noticeText = "";
      render({ focus: true });
    } catch (err) {
      submit.disabled = false;
      replace(error, h("p", { class: "problem", role: "alert", text: t("signinFailed", { detail: err.detail || err.message }) }));
    }
  });
  main.append(h("p", { text: t("signinLocalIntro") }), form);
}

// --- Ad-hoc support --------------------------------------------------------------------------

function pageAdhoc(main, { user, alive }) {
  main.append(title("adhocTitle"));
  if (prepared) {
    preparedView(main, alive);
    return;
  }
  main.append(h("p", { class: "intro", text: t("adhocIntro", { length: fmtDuration(auth.sessionSeconds) }) }));
  const note = h("div", { id: "open-session-note" });
  main.append(note);
  api("GET", "/v1/sessions").then(({ sessions }) => {
    if (!alive()) return;
    const mine = sessions.find((s) => s.technician.toLowerCase() === user.email.toLowerCase() && (isPending(s.status) || s.status === "active"));
    if (mine) {
      replace(note, h("p", { class: "info" }, t("openSessionNote", { email: mine.email, status: t(`status_${mine.status}`) }), " ",
        h("a", { href: `#/sessions/${encodeURIComponent(mine.id)}`, text: t("openSessionLink") })));
    }
  }).catch(() => {}); // only a hint; the form works without it

  const username = auth.hiddenUsername;
  const emailError = h("p", { id: "email-error", class: "field-error", hidden: true });
  const email = h("input", {
    id: "email", name: "email", type: "email", required: true, autocomplete: "off", spellcheck: "false",
    inputmode: "email", value: draft.email, "aria-describedby": "email-hint email-error",
  });
  email.addEventListener("input", () => {
    draft.email = email.value;
    setFieldError(email, emailError, "");
  });

  const pwError = h("p", { id: "password-error", class: "field-error", hidden: true });
  const pwStatus = h("p", { id: "password-status", class: "hint", role: "status" });
  const pw = h("input", {
    id: "password", name: "password", type: draft.showPassword ? "text" : "password", required: true,
    autocomplete: "off", spellcheck: "false", autocapitalize: "off", value: draft.password,
    "aria-describedby": "password-hint policy password-error",
  });
  const toggle = h("button", { type: "button", class: "secondary", id: "password-toggle", "aria-controls": "password" });
  const showState = () => {
    pw.type = draft.showPassword ? "text" : "password";
    toggle.textContent = draft.showPassword ? t("hide") : t("show");
    toggle.setAttribute("aria-pressed", String(draft.showPassword));
  };
  toggle.addEventListener("click", () => {
    draft.showPassword = !draft.showPassword;
    showState();
  });
  showState();
  const gen = h("button", { type: "button", class: "secondary", id: "generate", text: t("generate") });

  const rules = h("ul", { class: "rules", "aria-labelledby": "policy-title" });
  const policy = h("div", { id: "policy", class: "policy" }, h("p", { id: "policy-title", class: "policy-title", text: t("policyTitle") }), rules);
  const updatePolicy = () => {
    const c = checkPassword(pw.value, username);
    const items = [
      ["length", c.lengthOk, t("ruleLength", { n: c.length })],
      ["classes", c.classesOk, t("ruleClasses", { n: c.classes })],
      ["name", c.nameOk, t("ruleName", { username })],
    ];
    if (!c.maxOk) items.push(["max", false, t("ruleMax")]);
    if (!c.controlOk) items.push(["control", false, t("ruleControl")]);
    replace(rules, items.map(([key, ok, text]) =>
      h("li", { class: ok ? "ok" : "bad", "data-rule": key, "data-ok": String(ok) },
        h("span", { class: "mark", "aria-hidden": "true", text: ok ? "✓" : "✗" }), text,
        h("span", { class: "visually-hidden", text: `: ${ok ? t("met") : t("notMet")}` }))));
    return c;
  };
  pw.addEventListener("input", () => {
    draft.password = pw.value;
    replace(pwStatus);
    if (updatePolicy().ok) setFieldError(pw, pwError, "");
  });
  gen.addEventListener("click", () => {
    pw.value = generatePassword(username);
    draft.password = pw.value;
    draft.showPassword = true; // the technician has to note it
    showState();
    updatePolicy();
    setFieldError(pw, pwError, "");
    pwStatus.textContent = t("generated");
  });
  updatePolicy();

  const locale = draft.locale || lang;
  const radio = (value, key) => h("div", { class: "field check" },
    h("input", { type: "radio", name: "locale", id: `locale-${value}`, value, checked: value === locale,
      onchange: () => { draft.locale = value; } }),
    h("label", { for: `locale-${value}`, text: t(key) }));

  const formError = h("div", { id: "form-error-slot" });
  const submit = h("button", { type: "submit", id: "create", text: t("create") });
  const form = h("form", { id: "adhoc-form", method: "post", novalidate: true, class: "card" },
    h("div", { class: "field" },
      h("label", { for: "email", text: t("email") }), h("p", { id: "email-hint", class: "hint", text: t("emailHint") }), email, emailError),
    h("div", { class: "field" },
      h("label", { for: "password", text: t("password", { username }) }),
      h("p", { id: "password-hint", class: "hint", text: t("passwordHint") }),
      h("div", { class: "row" }, pw, toggle, gen), pwStatus, pwError, policy),
    h("fieldset", { class: "field" }, h("legend", { text: t("mailLanguage") }), h("div", { class: "row" }, radio("en", "langEn"), radio("de", "langDe"))),
    formError,
    h("div", { class: "actions" }, submit));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    replace(formError);
    let first = null;
    if (!email.value.trim() || !email.checkValidity()) {
      setFieldError(email, emailError, t("errEmail"));
      first = email;
    }
    if (!checkPassword(pw.value, username).ok) {
      setFieldError(pw, pwError, t("errPassword"));
      first = first || pw;
    }
    if (first) {
      first.focus();
      return;
    }
    const chosen = form.querySelector("input[name=locale]:checked")?.value || "en";
    submit.disabled = true;
    submit.textContent = t("creating");
    try {
      const res = await api("POST", "/v1/sessions", { email: email.value.trim(), password: pw.value, locale: chosen });
      prepared = {
        id: res.id, email: email.value.trim(), password: pw.value, code: res.securityCode,
        username: res.username || username, view: null, inviteExpiresAt: res.inviteExpiresAt,
      };
      Object.assign(draft, { email: "", password: "", locale: "", showPassword: false });
      pw.value = "";
      if (alive()) render({ focusId: "prepared-title" });
    } catch (err) {
      if (!alive()) return;
      submit.disabled = false;
      submit.textContent = t("create");
      const p = problem(err);
      if (p.field === "email") {
        setFieldError(email, emailError, p.text);
        email.focus();
      } else if (p.field === "password") {
        setFieldError(pw, pwError, p.text);
        pw.focus();
      } else {
        replace(formError, problemBox("form-error", err));
      }
    }
  });
  main.append(form);
}

function setFieldError(input, el, text) {
  el.textContent = text;
  el.hidden = !text;
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/** preparedView shows the secrets once and follows the new session live. */
function preparedView(main, alive) {
  const p = prepared;
  const steps = h("ol", { id: "steps", class: "steps", "aria-live": "polite" });
  const final = h("div", { id: "final" });
  const actions = h("div", { class: "actions", id: "prepared-actions" });
  const warn = h("div", { id: "prepared-warn" });
  main.append(h("section", { id: "prepared", "aria-labelledby": "prepared-title" },
    h("h2", { id: "prepared-title", tabindex: "-1", text: t("preparedTitle", { email: p.email }) }),
    h("div", { class: "secrets" },
      h("div", { class: "secret" },
        h("h3", { text: t("secretPassword", { username: p.username }) }),
        h("p", { class: "secret-value", id: "secret-password", text: p.password }),
        h("p", { class: "warn", text: t("noteItPassword") })),
      h("div", { class: "secret" },
        h("h3", { text: t("secretCode") }),
        h("p", { class: "code", id: "security-code", text: p.code }),
        h("p", { class: "hint", text: t("secretCodeHint") }),
        h("p", { class: "warn", text: t("noteItCode") }))),
    h("h3", { text: t("steps") }), steps, warn, final, actions));

  const show = () => {
    const v = p.view || { id: p.id, status: "invited", email: p.email, attemptsLeft: 5 };
    replace(steps, stepItems(v));
    replace(warn, isPending(v.status) && v.attemptsLeft < 5 ? h("p", { class: "warn", text: t("triesLeft", { n: v.attemptsLeft }) }) : null);
    replace(final, isTerminal(v.status) ? h("p", { class: "final", id: "final-text", text: t(`final_${v.status}`) }) : null);
    replace(actions,
      sessionButton(v, "prepared", () => load()),
      v.status === "active" ? h("a", { href: "#/computers", class: "button secondary", id: "prepared-computers", "data-key": "computers", text: t("goComputers") }) : null,
      h("a", { href: `#/sessions/${encodeURIComponent(p.id)}`, class: "button secondary", id: "prepared-details", "data-key": "details", text: t("details") }),
      isTerminal(v.status) ? h("button", { type: "button", id: "prepared-new", "data-key": "new", onclick: () => {
        prepared = null;
        render({ focus: true });
      }, text: t("newSession") }) : null);
  };
  const apply = (v) => {
    if (!alive() || prepared !== p || (p.view && behind(v, p.view))) return;
    p.view = v;
    replace(final);
    show();
  };
  const load = async () => {
    try {
      apply(await api("GET", `/v1/sessions/${encodeURIComponent(p.id)}`));
    } catch (err) {
      if (alive() && err.code !== "unauthorized") replace(final, problemBox("poll-error", err));
    }
  };
  show();
  follow({
    ms: pollMs, load, push: (v) => v.id === p.id && apply(v),
    tick: () => {
      if (!p.view || !isTerminal(p.view.status)) load(); // once it is over, nothing changes that polling must catch
    },
  });
  // Leaving the page forgets the secrets once they are no longer needed to pair.
  cleanups.push(() => {
    if (prepared === p && p.view && !isPending(p.view.status)) prepared = null;
  });
}

/** stepItems lists mail sent → app started on <hostname> → active until <time>. */
function stepItems(v) {
  const host = v.computer ? v.computer.hostname : "";
  const pending = isPending(v.status);
  const item = (key, state, text) =>
    h("li", { class: state, "data-step": key, "data-state": state, "aria-current": state === "current" ? "step" : null },
      h("span", { class: "mark", "aria-hidden": "true", text: state === "done" ? "✓" : state === "current" ? "…" : "○" }), text);
  const appDone = Boolean(host) && (v.status !== "invited");
  const activeDone = Boolean(v.activatedAt);
  return [
    item("mail", "done", t("stepMail", { email: v.email })),
    appDone || activeDone
      ? item("app", "done", t("stepApp", { hostname: host }))
      : item("app", pending ? "current" : "todo", t("stepAppWait")),
    activeDone
      ? item("active", "done", t("stepActive", { time: fmtTime(v.expiresAt) }))
      : item("active", v.status === "app_started" ? "current" : "todo", t("stepCodeWait")),
  ];
}

/** sessionButton is "Cancel invitation" for an invitation and "End session" for an active one. */
function sessionButton(v, prefix, after) {
  if (!isPending(v.status) && v.status !== "active") return null;
  const active = v.status === "active";
  const host = v.computer ? v.computer.hostname : "";
  return h("button", {
    type: "button", class: "danger", id: `${prefix}-${active ? "end" : "cancel"}`, "data-key": `${prefix}-action`,
    text: active ? t("endSession") : t("cancelInvite"),
    onclick: async (e) => {
      const ok = await confirmDialog(active
        ? { title: t("confirmEndTitle", { hostname: host }), body: t("confirmEndBody"), yes: t("confirmEndYes"), no: t("confirmNo") }
        : { title: t("confirmCancelTitle"), body: t("confirmCancelBody"), yes: t("confirmCancelYes"), no: t("confirmNo") });
      if (!ok) return;
      e.target.disabled = true;
      try {
        await api("DELETE", `/v1/sessions/${encodeURIComponent(v.id)}`);
      } catch (err) {
        e.target.disabled = false;
        e.target.after(problemBox(`${prefix}-action-error`, err));
        return;
      }
      after();
    },
  });
}

// --- one session ------------------------------------------------------------------------------

function pageSession(main, { id, user, alive }) {
  main.append(title("sessionTitle"));
  const body = h("div", { id: "session", "aria-busy": "true" }, h("p", { text: t("loading") }));
  const auditBox = h("div", { id: "audit" });
  main.append(body, h("h2", { id: "audit-title", text: t("auditTitle") }), auditBox);
  let view = null;
  let lastView = "";
  let lastAudit = "";
  const url = `/v1/sessions/${encodeURIComponent(id)}`;
  // Redrawn only when something changed, so that the focus stays where it is.
  const showView = (v) => {
    if (!alive() || (view && behind(v, view))) return;
    view = v;
    const sig = JSON.stringify(v);
    if (sig === lastView) return;
    lastView = sig;
    body.removeAttribute("aria-busy");
    replace(body, sessionFacts(v, user), h("ol", { id: "steps", class: "steps", "aria-live": "polite" }, stepItems(v)),
      isTerminal(v.status) ? h("p", { class: "final", id: "final-text", text: t(`final_${v.status}`) }) : null,
      h("div", { class: "actions" }, sessionButton(v, "session", load)));
  };
  const showAudit = (entries) => {
    const sig = JSON.stringify(entries);
    if (!alive() || sig === lastAudit) return;
    lastAudit = sig;
    replace(auditBox, auditTable(entries, user));
  };
  const fail = (err) => {
    if (!alive()) return;
    lastView = ""; // the next answer replaces the problem
    replace(body, problemBox("session-error", err));
  };
  const load = serial(async () => {
    try {
      const v = await api("GET", url);
      const { entries } = await api("GET", `${url}/audit`);
      showView(v);
      showAudit(entries);
    } catch (err) {
      fail(err);
    }
  });
  // A push carries the session itself; only the audit log is read again.
  const reloadAudit = serial(async () => {
    try {
      showAudit((await api("GET", `${url}/audit`)).entries);
    } catch (err) {
      fail(err);
    }
  });
  follow({
    ms: pollMs, load,
    push: (v) => {
      if (v.id !== id) return;
      showView(v);
      reloadAudit();
    },
    tick: () => {
      if (!view || !isTerminal(view.status)) load();
    },
  });
}

function sessionFacts(v, user) {
  const rows = [
    ["fUser", v.email],
    ["fStatus", h("span", { class: `badge status-${v.status}`, id: "session-status", "data-status": v.status, text: t(`status_${v.status}`) })],
    ["fTechnician", v.technician.toLowerCase() === user.email.toLowerCase() ? `${v.technician} (${t("you")})` : v.technician],
    ["fCreated", fmtTime(v.createdAt)],
  ];
  if (isPending(v.status)) rows.push(["fInviteExpires", fmtTime(v.inviteExpiresAt)]);
  if (v.computer) {
    rows.push(["fComputer", v.computer.hostname], ["fWindows", v.computer.osVersion],
      ["fOnline", onlineBadge(v.computer.online)]);
  }
  if (v.activatedAt) rows.push(["fActivated", fmtTime(v.activatedAt)], ["fExpires", fmtTime(v.expiresAt)]);
  if (v.endedAt) rows.push(["fEnded", fmtTime(v.endedAt)]);
  if (v.endReason) rows.push(["fReason", has(`reason_${v.endReason}`) ? t(`reason_${v.endReason}`, { length: fmtDuration(auth.sessionSeconds) }) : v.endReason]);
  return h("dl", { class: "facts", id: "session-facts" }, rows.map(([k, val]) => h("div", {}, h("dt", { text: t(k) }), h("dd", {}, val))));
}

function onlineBadge(online) {
  return h("span", { class: `badge ${online ? "online" : "offline"}`, text: online ? t("online") : t("offline") });
}

function auditTable(entries, user) {
  if (!entries.length) return h("p", { text: t("auditEmpty") });
  const who = (e) => {
    if (e.actor === "technician") return e.by === user.sub ? t("you") : t("actorTechnician", { id: e.by });
    if (e.actor === "app") return t("actorApp", { id: e.by });
    return t("actorSystem");
  };
  const action = (a) => (has(`action_${a}`) ? t(`action_${a}`) : a);
  const state = (s) => (has(`short_${s}`) ? t(`short_${s}`) : s);
  const change = (e) => (e.from && e.from !== e.to ? `${state(e.from)} → ${state(e.to)}` : state(e.to));
  const cols = ["auditAt", "auditAction", "auditChange", "auditBy", "auditDetail"];
  return h("table", { id: "audit-table", class: "list" },
    h("caption", { class: "visually-hidden", text: t("auditTitle") }),
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", text: t(c) })))),
    h("tbody", {}, entries.map((e) => h("tr", { "data-action": e.action },
      h("td", { "data-label": t("auditAt") }, h("time", { datetime: e.at, text: fmtTimeSeconds(e.at) })),
      h("td", { "data-label": t("auditAction"), text: action(e.action) }),
      h("td", { "data-label": t("auditChange"), text: change(e) }),
      h("td", { "data-label": t("auditBy"), text: who(e) }),
      h("td", { "data-label": t("auditDetail"), text: [e.reason && has(`reason_${e.reason}`) ? t(`reason_${e.reason}`, { length: fmtDuration(auth.sessionSeconds) }) : e.reason, e.detail].filter(Boolean).join("; ") })))));
}

// --- Computers --------------------------------------------------------------------------------

function pageComputers(main, { user, alive }) {
  main.append(title("computersTitle"));
  const group = h("div", { id: "computers", "aria-busy": "true" }, h("p", { text: t("loading") }));
  const invites = h("div", { id: "invites" });
  main.append(
    h("section", { "aria-labelledby": "group-title" }, h("h2", { id: "group-title", text: t("groupAdhoc") }), group),
    h("section", { "aria-labelledby": "invites-title" }, h("h2", { id: "invites-title", text: t("myInvites") }), invites));

  const deadlines = new Map(); // sessionId → ms, from the server's secondsLeft (no clock skew)
  const shown = new Set(); // the sessions on the page: a push about one of them changes it
  let lastGroup = "";
  let lastInvites = "";
  let presence = 0; // the timer of the next "online" that may run out
  const tick = () => {
    for (const el of group.querySelectorAll("[data-left]")) {
      const left = fmtLeft((deadlines.get(el.dataset.left) - Date.now()) / 1000);
      el.textContent = left.text;
      el.setAttribute("aria-label", left.label);
    }
  };
  const mine = (s) => s.technician.toLowerCase() === user.email.toLowerCase();
  const load = serial(async () => {
    let computers, sessions;
    try {
      ({ computers } = await api("GET", "/v1/computers?group=adhoc"));
      ({ sessions } = await api("GET", "/v1/sessions"));
    } catch (err) {
      if (alive() && err.code !== "unauthorized") replace(group, problemBox("computers-error", err));
      lastGroup = "";
      return;
    }
    if (!alive()) return;
    const now = Date.now();
    for (const c of computers) deadlines.set(c.sessionId, now + c.secondsLeft * 1000);
    clearTimeout(presence);
    presence = presenceCheck(computers, now, load);
    const sigGroup = JSON.stringify(computers.map((c) => [c.sessionId, c.hostname, c.osVersion, c.technician, c.online]));
    if (sigGroup !== lastGroup) {
      lastGroup = sigGroup;
      group.removeAttribute("aria-busy");
      replace(group, computersTable(computers, load));
    }
    tick();
    const invitations = sessions.filter((s) => isPending(s.status) && mine(s));
    const sigInv = JSON.stringify(invitations.map((s) => [s.id, s.status, s.computer && s.computer.hostname]));
    if (sigInv !== lastInvites) {
      lastInvites = sigInv;
      replace(invites, invitesList(invitations, load));
    }
    shown.clear();
    for (const c of computers) shown.add(c.sessionId);
    for (const s of invitations) shown.add(s.id);
  });
  cleanups.push(() => clearTimeout(presence));
  follow({
    ms: listPollMs, load,
    // One of the page's sessions changed, a PC joined the group, or an invitation was made.
    push: (v) => {
      if (shown.has(v.id) || v.status === "active" || (isPending(v.status) && mine(v))) load();
    },
  });
  every(1000, tick);
}

/**
 * presenceCheck arranges a reload for when the first PC shown online may turn offline:
 * without a live connection of its own a PC is online for two minutes after its last poll,
 * and running out is no change that anybody pushes. A PC whose time is up but still online
 * holds a live connection, whose end is pushed. The server's clock comes from secondsLeft.
 */
function presenceCheck(computers, now, reload) {
  let due = Infinity;
  for (const c of computers) {
    if (!c.online || !c.lastSeenAt) continue;
    const serverNow = Date.parse(c.expiresAt) - c.secondsLeft * 1000;
    const at = Date.parse(c.lastSeenAt) + seenMs + 2000 - (serverNow - now);
    if (at > now) due = Math.min(due, at);
  }
  return due === Infinity ? 0 : setTimeout(reload, due - now);
}

function computersTable(computers, reload) {
  if (!computers.length) return h("p", { id: "no-computers", text: t("noComputers") });
  const cols = ["cHost", "cWindows", "cTechnician", "cState", "cLeft", "cActions"];
  return h("table", { id: "computers-table", class: "list" },
    h("caption", { class: "visually-hidden", text: t("groupAdhoc") }),
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", text: t(c) })))),
    h("tbody", {}, computers.map((c) => h("tr", { "data-session": c.sessionId },
      h("th", { scope: "row", "data-label": t("cHost"), text: c.hostname }),
      h("td", { "data-label": t("cWindows"), text: c.osVersion }),
      h("td", { "data-label": t("cTechnician"), text: c.technician }),
      h("td", { "data-label": t("cState") }, onlineBadge(c.online)),
      h("td", { "data-label": t("cLeft") }, h("span", { class: "left", "data-left": c.sessionId, role: "timer" })),
      h("td", { "data-label": t("cActions") }, h("div", { class: "row-actions" },
        h("button", {
          type: "button", class: "danger small", "data-key": `end-${c.sessionId}`, "data-end": c.sessionId,
          "aria-label": t("endSessionOf", { hostname: c.hostname }), text: t("endSession"),
          onclick: (e) => endFromList(e.target, c, reload),
        }),
        h("a", { href: `#/sessions/${encodeURIComponent(c.sessionId)}`, class: "button secondary small", "data-key": `audit-${c.sessionId}`,
          "aria-label": t("auditOf", { hostname: c.hostname }), text: t("audit") })))))));
}

async function endFromList(button, c, reload) {
  const ok = await confirmDialog({ title: t("confirmEndTitle", { hostname: c.hostname }), body: t("confirmEndBody"), yes: t("confirmEndYes"), no: t("confirmNo") });
  if (!ok) return;
  button.disabled = true;
  try {
    await api("DELETE", `/v1/sessions/${encodeURIComponent(c.sessionId)}`);
  } catch (err) {
    button.disabled = false;
    button.closest("td").append(problemBox(`end-error-${c.sessionId}`, err));
    return;
  }
  reload();
}

function invitesList(mine, reload) {
  if (!mine.length) return h("p", { id: "no-invites", text: t("noInvites") });
  return h("ul", { class: "invites", id: "invites-list" }, mine.map((s) => h("li", { "data-session": s.id },
    h("div", {},
      h("strong", { text: t("inviteFor", { email: s.email }) }), " ",
      h("span", { class: `badge status-${s.status}`, text: s.computer && s.status === "app_started" ? t("stepApp", { hostname: s.computer.hostname }) : t(`status_${s.status}`) }), " ",
      h("span", { class: "hint", text: t("validUntil", { time: fmtTime(s.inviteExpiresAt) }) })),
    h("div", { class: "row-actions" },
      h("button", {
        type: "button", class: "danger small", "data-key": `cancel-${s.id}`, "data-cancel": s.id,
        "aria-label": t("cancelOf", { email: s.email }), text: t("cancel"),
        onclick: async (e) => {
          const ok = await confirmDialog({ title: t("confirmCancelTitle"), body: t("confirmCancelBody"), yes: t("confirmCancelYes"), no: t("confirmNo") });
          if (!ok) return;
          e.target.disabled = true;
          try {
            await api("DELETE", `/v1/sessions/${encodeURIComponent(s.id)}`);
          } catch (err) {
            e.target.disabled = false;
            e.target.after(problemBox(`cancel-error-${s.id}`, err));
            return;
          }
          reload();
        },
      }),
      h("a", { href: `#/sessions/${encodeURIComponent(s.id)}`, class: "button secondary small", text: t("details") })))));
}

// --- Account ----------------------------------------------------------------------------------

function pageAccount(main, { user, alive }) {
  main.append(title("accountTitle"));
  const facts = h("div", { id: "account", "aria-busy": "true" }, h("p", { text: t("loading") }));
  main.append(facts);
  let limitsForm = null;
  const load = serial(async () => {
    let a;
    try {
      a = await api("GET", "/v1/account");
    } catch (err) {
      if (alive() && err.code !== "unauthorized") replace(facts, problemBox("account-error", err));
      return;
    }
    if (!alive()) return;
    facts.removeAttribute("aria-busy");
    replace(facts, h("dl", { class: "facts", id: "account-facts" },
      h("div", {}, h("dt", { text: t("aAccount") }), h("dd", { id: "account-name", text: a.account })),
      h("div", {}, h("dt", { text: t("aSlots") }), h("dd", { id: "account-slots" },
        t("aSlotsValue", { used: a.used, slots: a.slots, free: a.free }),
        h("meter", { min: 0, max: Math.max(a.slots, 1), value: a.used, "aria-label": t("aSlots") }))),
      h("div", {}, h("dt", { text: t("aCap") }), h("dd", { id: "account-cap", text: t("aCapValue", { inUse: a.adhocInUse, cap: a.adhocCap }) }))));
    if (auth.mode === "local" && !limitsForm) {
      limitsForm = localLimits(user, a, load);
      main.append(limitsForm);
    }
  });
  load();
  // The counts cover the whole account, and nobody pushes a colleague's session (or a
  // change of the limits) to this technician: the page keeps polling. A push of one's own
  // session shows at once.
  every(listPollMs, load);
  cleanups.push(live.onSession(() => load()));
}

/** localLimits is local mode's form for PUT /v1/dev/accounts/{account}. */
function localLimits(user, a, reload) {
  const slots = h("input", { id: "limits-slots", type: "number", min: 0, max: 100000, required: true, value: String(a.slots) });
  const cap = h("input", { id: "limits-cap", type: "number", min: 0, max: 100000, required: true, value: String(a.adhocCap) });
  const status = h("p", { id: "limits-status", role: "status" });
  const form = h("form", { id: "limits-form", method: "post", novalidate: true, class: "card narrow" },
    h("h2", { text: t("aLocalTitle") }),
    h("div", { class: "field" }, h("label", { for: "limits-slots", text: t("aSlotsInput") }), slots),
    h("div", { class: "field" }, h("label", { for: "limits-cap", text: t("aCapInput") }), cap),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "limits-save", class: "secondary", text: t("aSave") })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("PUT", `/v1/dev/accounts/${encodeURIComponent(user.account)}`, { slots: Number(slots.value), adhocCap: Number(cap.value) });
      status.textContent = t("aSaved");
      reload();
    } catch (err) {
      replace(status, problemBox("limits-error", err));
    }
  });
  return form;
}

// --- start ----------------------------------------------------------------------------------

async function boot() {
  auth.restore();
  const r = await auth.completeHostedSignIn();
  if (r.done && r.error) {
    noticeKey = r.error === "state" ? "signinStateMismatch" : "";
    noticeText = r.error === "state" ? "" : t("signinFailed", { detail: r.error });
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
