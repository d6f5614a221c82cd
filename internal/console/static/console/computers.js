// @ts-check
// The Computers page: the ad-hoc group's PCs, each with the time left, Connect (remote.js)
// and an end button, and the technician's open invitation.

import { h, replace, confirmDialog } from "./dom.js";
import { t, fmtTime, fmtLeft } from "./i18n.js";
import { api } from "./api.js";
import { every, follow, onLeave, serial, listPollMs } from "./page.js";
import { isPending, title, problemBox, onlineBadge, refused } from "./parts.js";

/** @import { ComputerEntry, ComputerGroup, SessionList, SessionView } from "./api.js" */
/** @import { Key } from "./i18n.js" */
/** @import { Context } from "./page.js" */

const seenMs = 2 * 60 * 1000; // a PC without a live connection is online this long after a poll

/**
 * @param {HTMLElement} main
 * @param {Context} context
 */
export function pageComputers(main, { user, alive }) {
  main.append(title("computersTitle"));
  const group = h("div", { id: "computers", "aria-busy": "true" }, h("p", { text: t("loading") }));
  const invites = h("div", { id: "invites" });
  main.append(
    h("section", { "aria-labelledby": "group-title" }, h("h2", { id: "group-title", text: t("groupAdhoc") }), group),
    h("section", { "aria-labelledby": "invites-title" }, h("h2", { id: "invites-title", text: t("myInvites") }), invites));

  /** @type {Map<string, number>} */
  const deadlines = new Map(); // sessionId → ms, from the server's secondsLeft (no clock skew)
  /** @type {Set<string>} */
  const shown = new Set(); // the sessions on the page: a push about one of them changes it
  let lastGroup = "";
  let lastInvites = "";
  let presence = 0; // the timer of the next "online" that may run out
  const tick = () => {
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (group.querySelectorAll("[data-left]"))) {
      // Every row drawn has its deadline: both come from the same answer.
      const deadline = /** @type {number} */ (deadlines.get(/** @type {string} */ (el.dataset.left)));
      const left = fmtLeft((deadline - Date.now()) / 1000);
      el.textContent = left.text;
      el.setAttribute("aria-label", left.label);
    }
  };
  const mine = (/** @type {SessionView} */ s) => s.technician.toLowerCase() === user.email.toLowerCase();
  const load = serial(async () => {
    /** @type {ComputerEntry[]} */
    let computers;
    /** @type {SessionView[]} */
    let sessions;
    try {
      ({ computers } = /** @type {ComputerGroup} */ (await api("GET", "/v1/computers?group=adhoc")));
      ({ sessions } = /** @type {SessionList} */ (await api("GET", "/v1/sessions")));
    } catch (err) {
      if (alive() && !refused(err, "unauthorized")) replace(group, problemBox("computers-error", err));
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
  onLeave(() => clearTimeout(presence));
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
 * @param {ComputerEntry[]} computers
 * @param {number} now
 * @param {() => void} reload
 * @returns {number} the timer, 0 for none
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

/**
 * @param {ComputerEntry[]} computers
 * @param {() => void} reload
 */
function computersTable(computers, reload) {
  if (!computers.length) return h("p", { id: "no-computers", text: t("noComputers") });
  /** @type {Key[]} */
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
          type: "button", class: "small", id: `connect-${c.sessionId}`, "data-key": `connect-${c.sessionId}`,
          "aria-label": t("connectTo", { hostname: c.hostname }), text: t("connect"),
          onclick: () => {
            location.hash = `#/sessions/${encodeURIComponent(c.sessionId)}/remote`;
          },
        }),
        h("button", {
          type: "button", class: "danger small", "data-key": `end-${c.sessionId}`, "data-end": c.sessionId,
          "aria-label": t("endSessionOf", { hostname: c.hostname }), text: t("endSession"),
          onclick: (e) => endFromList(/** @type {HTMLButtonElement} */ (e.target), c, reload),
        }),
        h("a", { href: `#/sessions/${encodeURIComponent(c.sessionId)}`, class: "button secondary small", "data-key": `audit-${c.sessionId}`,
          "aria-label": t("auditOf", { hostname: c.hostname }), text: t("audit") })))))));
}

/**
 * @param {HTMLButtonElement} button
 * @param {ComputerEntry} c
 * @param {() => void} reload
 */
async function endFromList(button, c, reload) {
  const ok = await confirmDialog({ title: t("confirmEndTitle", { hostname: c.hostname }), body: t("confirmEndBody"), yes: t("confirmEndYes"), no: t("confirmNo") });
  if (!ok) return;
  button.disabled = true;
  try {
    await api("DELETE", `/v1/sessions/${encodeURIComponent(c.sessionId)}`);
  } catch (err) {
    button.disabled = false;
    /** @type {HTMLTableCellElement} */ (button.closest("td")).append(problemBox(`end-error-${c.sessionId}`, err));
    return;
  }
  reload();
}

/**
 * @param {SessionView[]} mine the technician's open invitations
 * @param {() => void} reload
 */
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
          const button = /** @type {HTMLButtonElement} */ (e.target);
          const ok = await confirmDialog({ title: t("confirmCancelTitle"), body: t("confirmCancelBody"), yes: t("confirmCancelYes"), no: t("confirmNo") });
          if (!ok) return;
          button.disabled = true;
          try {
            await api("DELETE", `/v1/sessions/${encodeURIComponent(s.id)}`);
          } catch (err) {
            button.disabled = false;
            button.after(problemBox(`cancel-error-${s.id}`, err));
            return;
          }
          reload();
        },
      }),
      h("a", { href: `#/sessions/${encodeURIComponent(s.id)}`, class: "button secondary small", text: t("details") })))));
}
