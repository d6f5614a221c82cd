// @ts-check
// The page of one session: its facts, its steps, its cancel or end button and its audit log.

import { h, replace } from "./dom.js";
import { t, fmtTime, fmtTimeSeconds, fmtDuration, fmtBytes, has } from "./i18n.js";
import { api } from "./api.js";
import * as auth from "./auth.js";
import { follow, serial, pollMs } from "./page.js";
import { behind, isPending, isTerminal, title, problemBox, stepItems, sessionButton, onlineBadge } from "./parts.js";

/** @import { AuditEntry, AuditTrail, SessionStatus, SessionView } from "./api.js" */
/** @import { User } from "./auth.js" */
/** @import { Child } from "./dom.js" */
/** @import { Key } from "./i18n.js" */
/** @import { Context } from "./page.js" */

/**
 * @param {HTMLElement} main
 * @param {Context & { id: string }} context
 */
export function pageSession(main, { id, user, alive }) {
  main.append(title("sessionTitle"));
  const body = h("div", { id: "session", "aria-busy": "true" }, h("p", { text: t("loading") }));
  const auditBox = h("div", { id: "audit" });
  main.append(body, h("h2", { id: "audit-title", text: t("auditTitle") }), auditBox);
  /** @type {SessionView | null} */
  let view = null;
  let lastView = "";
  let lastAudit = "";
  const url = `/v1/sessions/${encodeURIComponent(id)}`;
  // Redrawn only when something changed, so that the focus stays where it is.
  const showView = (/** @type {SessionView} */ v) => {
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
  const showAudit = (/** @type {AuditEntry[]} */ entries) => {
    const sig = JSON.stringify(entries);
    if (!alive() || sig === lastAudit) return;
    lastAudit = sig;
    replace(auditBox, auditTable(entries, user));
  };
  const fail = (/** @type {unknown} */ err) => {
    if (!alive()) return;
    lastView = ""; // the next answer replaces the problem
    replace(body, problemBox("session-error", err));
  };
  const load = serial(async () => {
    try {
      /** @type {SessionView} */
      const v = await api("GET", url);
      /** @type {AuditTrail} */
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
      showAudit((/** @type {AuditTrail} */ (await api("GET", `${url}/audit`))).entries);
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

/**
 * @param {SessionView} v
 * @param {User} user
 */
function sessionFacts(v, user) {
  /** @type {[Key, Child][]} */
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

/**
 * @param {AuditEntry[]} entries
 * @param {User} user
 */
function auditTable(entries, user) {
  if (!entries.length) return h("p", { text: t("auditEmpty") });
  const who = (/** @type {AuditEntry} */ e) => {
    if (e.actor === "technician") return e.by === user.sub ? t("you") : t("actorTechnician", { id: e.by });
    if (e.actor === "app") return t("actorApp", { id: e.by });
    return t("actorSystem");
  };
  const state = (/** @type {SessionStatus} */ s) => named("short_", s);
  const change = (/** @type {AuditEntry} */ e) => (e.from && e.from !== e.to ? `${state(e.from)} → ${state(e.to)}` : state(e.to));
  /** @type {Key[]} */
  const cols = ["auditAt", "auditAction", "auditChange", "auditBy", "auditDetail"];
  return h("table", { id: "audit-table", class: "list" },
    h("caption", { class: "visually-hidden", text: t("auditTitle") }),
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", text: t(c) })))),
    h("tbody", {}, entries.map((e) => h("tr", { "data-action": e.action },
      h("td", { "data-label": t("auditAt") }, h("time", { datetime: e.at, text: fmtTimeSeconds(e.at) })),
      h("td", { "data-label": t("auditAction"), text: named("action_", e.action) }),
      h("td", { "data-label": t("auditChange"), text: change(e) }),
      h("td", { "data-label": t("auditBy"), text: who(e) }),
      h("td", { "data-label": t("auditDetail"), title: e.detail ?? "",
        text: [e.reason && reasonText(e.reason), e.action.startsWith("remote_") ? remoteDetail(e.detail ?? "") : e.detail].filter(Boolean).join("; ") })))));
}

/**
 * named is the text of an audit log's name (an action, a state, a reason): the message
 * prefix+value, or, where this console has no text for it, the value as the server names it.
 * @param {string} prefix
 * @param {string} value
 * @param {Record<string, string | number>} [vars]
 */
function named(prefix, value, vars) {
  const key = prefix + value;
  return has(key) ? t(key, vars) : value;
}

/** @param {string} reason why a session or a remote connection ended */
const reasonText = (reason) => named("reason_", reason, { length: fmtDuration(auth.sessionSeconds) });

/**
 * remoteDetail puts a remote connection's audit detail ("remoteId=… reason=… channels=…
 * durationMs=… bytesToPc=… bytesFromPc=…", as the server writes it) into words; the raw
 * detail stays in the cell's title, so the remoteId can still be quoted to support.
 * @param {string} detail
 */
function remoteDetail(detail) {
  /** @type {Record<string, string>} */
  const f = {};
  for (const [, k, v] of detail.matchAll(/(\w+)=(\S+)/g)) f[k] = v;
  const note = /\((.*)\)$/.exec(detail)?.[1];
  const parts = [];
  if (f.reason) parts.push(reasonText(f.reason));
  if (f.durationMs) parts.push(t("remoteLasted", { duration: fmtDuration(Math.max(1, Math.round(Number(f.durationMs) / 1000))) }));
  if (f.bytesToPc || f.bytesFromPc) parts.push(t("remoteMoved", { toPc: fmtBytes(Number(f.bytesToPc ?? 0)), fromPc: fmtBytes(Number(f.bytesFromPc ?? 0)) }));
  if (f.channels) parts.push(t("remoteChannels", { channels: f.channels.split(",").join(", ") }));
  if (note) parts.push(note);
  return parts.join("; ");
}
