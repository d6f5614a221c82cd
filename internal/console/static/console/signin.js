// @ts-check
// The sign-in page: local mode's dev sign-in form, or AWS mode's button to the hosted UI.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import * as auth from "./auth.js";
import { title } from "./parts.js";

/** @import { Key } from "./i18n.js" */
/** @import { Context } from "./page.js" */
/** @import { Refusal } from "./parts.js" */

/** @type {Key | ""} */
let noticeKey = ""; // a message for the sign-in page
let noticeText = "";

/**
 * setNotice sets the message the sign-in page shows: a text's key, or else a text.
 * @param {Key | ""} key
 * @param {string} [text]
 */
export function setNotice(key, text = "") {
  noticeKey = key;
  noticeText = text;
}

/**
 * @param {HTMLElement} main
 * @param {Pick<Context, "render">} context
 */
export function pageSignIn(main, { render }) {
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
    } catch (thrown) {
      const err = /** @type {Refusal} */ (thrown); // an ApiError, or the token was unreadable
      submit.disabled = false;
      replace(error, h("p", { class: "problem", role: "alert", text: t("signinFailed", { detail: err.detail || err.message }) }));
    }
  });
  main.append(h("p", { text: t("signinLocalIntro") }), form);
}
