// @ts-check
// The Ad-hoc support page: the form that invites a user, then the prepared session's
// secrets and progress. Secrets (the password and the security code) live only in this
// module's memory while the technician needs them; they never go into the URL, storage or
// the browser console.

import { h, replace } from "./dom.js";
import { t, lang, fmtDuration } from "./i18n.js";
import { api } from "./api.js";
import * as auth from "./auth.js";
import { checkPassword, generatePassword } from "./password.js";
import { follow, onLeave, pollMs } from "./page.js";
import { behind, isPending, isTerminal, title, problem, problemBox, stepItems, sessionButton, refused } from "./parts.js";

/** @import { Invitation, SessionList, SessionView } from "./api.js" */
/** @import { Key } from "./i18n.js" */
/** @import { Context, RenderOptions } from "./page.js" */
/** @import { StepView } from "./parts.js" */

/**
 * Prepared is the invitation just made, with its secrets.
 * @typedef {object} Prepared
 * @property {string} id
 * @property {string} email the user's
 * @property {string} password of the hidden account
 * @property {string} code the security code
 * @property {string} username the hidden account's name
 * @property {SessionView | null} view the latest view of the session; null before the first
 * @property {string} inviteExpiresAt
 */

// What the technician typed on the Ad-hoc support page, kept across a language switch.
const draft = { email: "", password: "", locale: "", showPassword: false };
// The invitation just made: its secrets, shown until the technician leaves the page
// after it stopped pending (the code is needed until the user has typed it).
/** @type {Prepared | null} */
let prepared = null;

/** forget drops the prepared session's secrets and what was typed (sign-out). */
export function forget() {
  prepared = null;
  Object.assign(draft, { email: "", password: "", locale: "", showPassword: false });
}

/**
 * @param {HTMLElement} main
 * @param {Context} context
 */
export function pageAdhoc(main, { user, alive, render }) {
  main.append(title("adhocTitle"));
  if (prepared) {
    preparedView(main, prepared, alive, render);
    return;
  }
  main.append(h("p", { class: "intro", text: t("adhocIntro", { length: fmtDuration(auth.sessionSeconds) }) }));
  const note = h("div", { id: "open-session-note" });
  main.append(note);
  /** @type {Promise<SessionList>} */ (api("GET", "/v1/sessions")).then(({ sessions }) => {
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
    /** @type {[string, boolean, string][]} */
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
  const radio = (/** @type {string} */ value, /** @type {Key} */ key) => h("div", { class: "field check" },
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
    const chosen = /** @type {HTMLInputElement | null} */ (form.querySelector("input[name=locale]:checked"))?.value || "en";
    submit.disabled = true;
    submit.textContent = t("creating");
    try {
      /** @type {Invitation} */
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

/**
 * setFieldError shows text under a field and marks it invalid; "" clears both.
 * @param {HTMLInputElement} input
 * @param {HTMLElement} el the field's error line
 * @param {string} text
 */
function setFieldError(input, el, text) {
  el.textContent = text;
  el.hidden = !text;
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/**
 * preparedView shows the secrets once and follows the new session live.
 * @param {HTMLElement} main
 * @param {Prepared} p
 * @param {() => boolean} alive
 * @param {(options?: RenderOptions) => void} render
 */
function preparedView(main, p, alive, render) {
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
    /** @type {StepView} */
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
  const apply = (/** @type {SessionView} */ v) => {
    if (!alive() || prepared !== p || (p.view && behind(v, p.view))) return;
    p.view = v;
    replace(final);
    show();
  };
  const load = async () => {
    try {
      apply(await api("GET", `/v1/sessions/${encodeURIComponent(p.id)}`));
    } catch (err) {
      if (alive() && !refused(err, "unauthorized")) replace(final, problemBox("poll-error", err));
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
  onLeave(() => {
    if (prepared === p && p.view && !isPending(p.view.status)) prepared = null;
  });
}
