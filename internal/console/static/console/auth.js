// @ts-check
// Sign-in. Local mode: the dev sign-in asks the local gateway for a token; it is kept in
// sessionStorage so that a reload does not sign the technician out (local mode only).
// AWS mode: the Cognito hosted UI with the authorization code flow and PKCE; the tokens
// stay in memory only, so a reload goes through the hosted UI again (its own session
// cookie makes that a redirect without typing). Only the one-time PKCE verifier and state
// survive the redirect, in sessionStorage, and are removed when the technician returns.

import config from "./config.js";
import { api } from "./api.js";

/** @import { DevTokenResponse } from "./api.js" */

/**
 * User is the signed-in technician, as the token's claims say.
 * @typedef {object} User
 * @property {string} token the ID token, sent as the bearer
 * @property {string} sub the technician's profile id
 * @property {string} email
 * @property {string} name
 * @property {string} account
 * @property {boolean} admin a member of "admins", who sees every session of the account
 * @property {number} exp when the token expires, in ms since the epoch (0: not said)
 */

const localKey = "adhoc.local.token";
const pkceKey = "adhoc.pkce";

/** @type {User | null} */
let current = null;

/** @param {string} s */
function b64urlDecode(s) {
  const b = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b + "=".repeat((4 - (b.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** @param {Uint8Array} bytes */
function b64url(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {number} n the number of random bytes */
function randomString(n) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

/**
 * fromToken reads the claims the console shows; the API checks the signature, not the page.
 * @param {string} token
 * @returns {User | null}
 */
function fromToken(token) {
  try {
    const claims = JSON.parse(b64urlDecode(token.split(".")[1]));
    const groups = claims["cognito:groups"] || [];
    return {
      token,
      sub: claims.sub || "",
      email: claims.email || "",
      name: claims.name || "",
      account: claims["custom:account"] || "",
      admin: Array.isArray(groups) ? groups.includes("admins") : String(groups).includes("admins"),
      exp: (claims.exp || 0) * 1000,
    };
  } catch {
    return null;
  }
}

/**
 * @param {User | null} u
 * @returns {u is User}
 */
function valid(u) {
  return Boolean(u && u.token && (!u.exp || u.exp > Date.now() + 5000));
}

export const mode = config.mode;

/** cognito is the hosted UI's settings, which config.js has in AWS mode only. */
function cognito() {
  if (!config.cognito) throw new Error("config.js has no Cognito settings (local mode)");
  return config.cognito;
}

// The app client's callback and sign-out URL: the console's root unless configured.
function redirectUri() {
  return cognito().redirectUri || `${location.origin}/`;
}

function logoutUri() {
  return cognito().logoutUri || redirectUri();
}
export const hiddenUsername = config.hiddenUsername;
/** sessionSeconds is how long an active session lasts in this deployment. */
export const sessionSeconds = config.sessionSeconds || 86400;

export function user() {
  if (current && !valid(current)) signOutLocally();
  return current;
}

export function token() {
  const u = user();
  return u ? u.token : "";
}

/** restore picks up a local-mode sign-in that survives reloads. */
export function restore() {
  if (mode !== "local") return;
  try {
    const tok = sessionStorage.getItem(localKey);
    const u = tok ? fromToken(tok) : null;
    if (valid(u)) current = u;
    else sessionStorage.removeItem(localKey);
  } catch {
    // storage disabled: sign in again after a reload
  }
}

/**
 * signInLocal asks the local gateway for a token (local mode only).
 * @param {string} email
 * @param {string} account
 * @param {boolean} admin
 */
export async function signInLocal(email, account, admin) {
  /** @type {DevTokenResponse} */
  const res = await api("POST", "/v1/dev/token", { email, account, admin }, { auth: false });
  const u = fromToken(res.token);
  if (!u) throw new Error("the token could not be read");
  current = u;
  try {
    sessionStorage.setItem(localKey, res.token);
  } catch {
    // kept in memory only
  }
  return u;
}

/**
 * startHostedSignIn sends the browser to the Cognito hosted UI.
 * @param {string} returnTo the route to show after the sign-in
 */
export async function startHostedSignIn(returnTo) {
  const c = cognito();
  const verifier = randomString(48);
  const state = randomString(24);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(pkceKey, JSON.stringify({ verifier, state, returnTo: returnTo || "" }));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: c.clientId,
    redirect_uri: redirectUri(),
    scope: c.scopes,
    state,
    code_challenge_method: "S256",
    code_challenge: b64url(new Uint8Array(digest)),
  });
  location.assign(`${c.domain}/oauth2/authorize?${q}`);
}

/**
 * completeHostedSignIn finishes a hosted UI sign-in when the page was opened with ?code=…
 * Returns { done, returnTo, error } ; done is false when there was nothing to finish.
 * @returns {Promise<{ done: boolean, returnTo?: string, error?: string }>}
 */
export async function completeHostedSignIn() {
  if (mode !== "aws") return { done: false };
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return { done: false };
  /** @type {{ verifier: string, state: string, returnTo: string } | null} */
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(pkceKey) || "null");
  } catch {
    saved = null;
  }
  sessionStorage.removeItem(pkceKey);
  // The code is single-use; take it out of the address bar and the history right away.
  history.replaceState(null, "", location.pathname + (saved && saved.returnTo ? saved.returnTo : "#/adhoc"));
  if (q.has("error")) return { done: true, error: q.get("error_description") || q.get("error") || "" };
  if (!saved || saved.state !== q.get("state")) return { done: true, error: "state" };
  const c = cognito();
  let res;
  try {
    res = await fetch(`${c.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: c.clientId,
        code: /** @type {string} */ (q.get("code")), // there: checked above
        redirect_uri: redirectUri(),
        code_verifier: saved.verifier,
      }),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    return { done: true, error: "network" };
  }
  if (!res.ok) return { done: true, error: `token endpoint answered ${res.status}` };
  /** @type {{ id_token?: string }} */
  const body = await res.json();
  // The API's JWT authorizer reads the ID token: it carries the e-mail, the account and
  // the groups.
  const u = fromToken(body.id_token || "");
  if (!valid(u)) return { done: true, error: "no usable ID token" };
  current = u;
  return { done: true, returnTo: saved.returnTo };
}

function signOutLocally() {
  current = null;
  try {
    sessionStorage.removeItem(localKey);
  } catch {
    // nothing kept
  }
}

/** signOut forgets the token; in AWS mode it also ends the hosted UI's session. */
export function signOut() {
  signOutLocally();
  if (mode === "aws") {
    const c = cognito();
    const q = new URLSearchParams({ client_id: c.clientId, logout_uri: logoutUri() });
    location.assign(`${c.domain}/logout?${q}`);
    return true;
  }
  return false;
}

/** expire is called when the API answers 401: the token is no longer good. */
export function expire() {
  signOutLocally();
}
