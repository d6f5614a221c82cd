// @ts-check
// Pieces that several pages show: the page title, API refusals, a session's state, its
// steps and its cancel or end button.

import { h, confirmDialog } from "./dom.js";
import { t, fmtTime } from "./i18n.js";
import { api, ApiError } from "./api.js";

/** @import { SessionStatus, SessionView } from "./api.js" */
/** @import { Key } from "./i18n.js" */

/**
 * StepView is what stepItems and sessionButton read of a session: the prepared view knows
 * that much of an invitation before its first answer.
 * @typedef {Pick<SessionView, "id" | "status" | "email" | "attemptsLeft" | "computer" | "activatedAt" | "expiresAt">} StepView
 */

/**
 * A pending session waits for the app or the code; a terminal one is over for good.
 * @typedef {"invited" | "app_started"} PendingStatus
 * @typedef {"cancelled" | "invite_expired" | "locked" | "expired" | "ended" | "removed"} TerminalStatus
 */

/** @type {SessionStatus[]} */
const pendingStates = ["invited", "app_started"];
/** @type {SessionStatus[]} */
const terminalStates = ["cancelled", "invite_expired", "locked", "expired", "ended", "removed"];

// How far a session has come; it never goes back.
/** @type {Partial<Record<SessionStatus, number>>} */
const progress = { invited: 0, app_started: 1, active: 2, removed: 4 };

/**
 * behind reports whether view a is older than view b of the same session: pushes from
 * separate commits may overtake each other, and a load may answer after a push.
 * @param {SessionView} a
 * @param {SessionView} b
 */
export function behind(a, b) {
  const rank = (/** @type {SessionView} */ v) => progress[v.status] ?? 3;
  if (rank(a) !== rank(b)) return rank(a) < rank(b);
  return a.attemptsLeft > b.attemptsLeft; // wrong codes only ever add up
}

/**
 * @param {SessionStatus} status
 * @returns {status is PendingStatus}
 */
export function isPending(status) {
  return pendingStates.includes(status);
}

/**
 * @param {SessionStatus} status
 * @returns {status is TerminalStatus}
 */
export function isTerminal(status) {
  return terminalStates.includes(status);
}

/**
 * title is the page's h1, and the window's title.
 * @param {Key} key
 */
export function title(key) {
  document.title = `${t(key)} – ${t("app")}`;
  return h("h1", { tabindex: "-1", text: t(key) });
}

/**
 * Refusal is what problem reads of a thrown value: an ApiError's fields (another Error has
 * only a message).
 * @typedef {{ code?: string, detail?: string, message?: string, sessionId?: string }} Refusal
 */

/**
 * refused reports whether a call was refused with the API's code (an ApiError's).
 * @param {unknown} err what the call threw
 * @param {string} code
 */
export function refused(err, code) {
  return err instanceof ApiError && err.code === code;
}

/**
 * problem turns an API refusal into a sentence and, where there is one, what to do.
 * @param {unknown} thrown what a call threw: an ApiError, or another Error
 * @returns {{ text: string, field?: "email" | "password", href?: string, link?: string }}
 */
export function problem(thrown) {
  const err = /** @type {Refusal} */ (thrown);
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

/**
 * problemBox shows problem(err) as an alert; its link, if any, has the id <id>-link.
 * @param {string} id
 * @param {unknown} err what a call threw
 */
export function problemBox(id, err) {
  const p = problem(err);
  return h("div", { class: "problem", id, role: "alert", "data-code": /** @type {Refusal} */ (err).code },
    h("p", {}, p.text, p.href ? " " : null, p.href ? h("a", { href: p.href, id: `${id}-link`, text: p.link }) : null));
}

/**
 * stepItems lists mail sent → app started on <hostname> → active until <time>.
 * @param {StepView} v
 */
export function stepItems(v) {
  const host = v.computer ? v.computer.hostname : "";
  const pending = isPending(v.status);
  /**
   * @param {string} key
   * @param {"done" | "current" | "todo"} state
   * @param {string} text
   */
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

/**
 * sessionButton is "Cancel invitation" for an invitation and "End session" for an active one.
 * @param {StepView} v
 * @param {string} prefix of the button's id (<prefix>-cancel, <prefix>-end) and data-key
 * @param {() => void} after what to do once the session was cancelled or ended
 */
export function sessionButton(v, prefix, after) {
  if (!isPending(v.status) && v.status !== "active") return null;
  const active = v.status === "active";
  const host = v.computer ? v.computer.hostname : "";
  return h("button", {
    type: "button", class: "danger", id: `${prefix}-${active ? "end" : "cancel"}`, "data-key": `${prefix}-action`,
    text: active ? t("endSession") : t("cancelInvite"),
    onclick: async (e) => {
      const button = /** @type {HTMLButtonElement} */ (e.target);
      const ok = await confirmDialog(active
        ? { title: t("confirmEndTitle", { hostname: host }), body: t("confirmEndBody"), yes: t("confirmEndYes"), no: t("confirmNo") }
        : { title: t("confirmCancelTitle"), body: t("confirmCancelBody"), yes: t("confirmCancelYes"), no: t("confirmNo") });
      if (!ok) return;
      button.disabled = true;
      try {
        await api("DELETE", `/v1/sessions/${encodeURIComponent(v.id)}`);
      } catch (err) {
        button.disabled = false;
        button.after(problemBox(`${prefix}-action-error`, err));
        return;
      }
      after();
    },
  });
}

/** @param {boolean} online */
export function onlineBadge(online) {
  return h("span", { class: `badge ${online ? "online" : "offline"}`, text: online ? t("online") : t("offline") });
}
