// @ts-check
// The Account page: the slots and the ad-hoc cap, and in local mode a form to change them.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { api } from "./api.js";
import * as auth from "./auth.js";
import * as live from "./live.js";
import { every, onLeave, serial, listPollMs } from "./page.js";
import { title, problemBox, refused } from "./parts.js";

/** @import { Account } from "./api.js" */
/** @import { User } from "./auth.js" */
/** @import { Context } from "./page.js" */

/**
 * @param {HTMLElement} main
 * @param {Context} context
 */
export function pageAccount(main, { user, alive }) {
  main.append(title("accountTitle"));
  const facts = h("div", { id: "account", "aria-busy": "true" }, h("p", { text: t("loading") }));
  main.append(facts);
  /** @type {HTMLFormElement | null} */
  let limitsForm = null;
  const load = serial(async () => {
    /** @type {Account} */
    let a;
    try {
      a = await api("GET", "/v1/account");
    } catch (err) {
      if (alive() && !refused(err, "unauthorized")) replace(facts, problemBox("account-error", err));
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
  onLeave(live.onSession(() => load()));
}

/**
 * localLimits is local mode's form for PUT /v1/dev/accounts/{account}.
 * @param {User} user
 * @param {Account} a
 * @param {() => void} reload
 */
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
