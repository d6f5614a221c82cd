// @ts-check
// Calls to the API of the same origin. Errors are RFC 9457 problems with a stable code;
// they become ApiError. The token is handed in by auth.js and never written anywhere.
//
// The answers the console reads, as api/openapi.yaml's components/schemas gives them (the
// Go test TestTypedefsMatchOpenAPI keeps the names and the optional fields equal):
/**
 * @typedef {"invited" | "app_started" | "active" | "cancelled" | "invite_expired" | "locked" | "expired" | "ended" | "removed"} SessionStatus
 * @typedef {"cancelled" | "invite_expired" | "locked" | "expired" | "ended_by_technician" | "ended_by_user"} EndReason
 * @typedef {"en" | "de"} Locale
 *
 * @typedef {object} ComputerView
 * @property {string} hostname
 * @property {string} osVersion
 * @property {string} [agentVersion]
 * @property {boolean} online
 * @property {string} [lastSeenAt]
 *
 * @typedef {object} SessionView
 * @property {string} id
 * @property {SessionStatus} status
 * @property {string} technician
 * @property {string} [technicianName]
 * @property {string} email
 * @property {Locale} locale
 * @property {string} username
 * @property {string} createdAt
 * @property {string} inviteExpiresAt
 * @property {string} [activatedAt]
 * @property {string} [expiresAt]
 * @property {string} [endedAt]
 * @property {EndReason} [endReason]
 * @property {number} attemptsLeft
 * @property {ComputerView} [computer]
 * @property {RemoteView} [remote]
 *
 * @typedef {object} RemoteView
 * @property {string} remoteId
 * @property {string} technician
 * @property {"pending" | "connected"} state
 *
 * @typedef {object} IceServer
 * @property {string[]} urls
 * @property {string} [username]
 * @property {string} [credential]
 *
 * @typedef {object} StartedRemote
 * @property {string} remoteId
 * @property {IceServer[]} iceServers
 * @property {string} expiresAt when the ICE servers' credentials expire
 *
 * @typedef {object} SessionList
 * @property {SessionView[]} sessions
 *
 * @typedef {object} Invitation
 * @property {string} id
 * @property {string} securityCode
 * @property {"invited"} status
 * @property {string} inviteExpiresAt
 * @property {string} username
 *
 * @typedef {object} AuditEntry
 * @property {string} at
 * @property {string} action
 * @property {SessionStatus} [from]
 * @property {SessionStatus} to
 * @property {"technician" | "app" | "system"} actor
 * @property {string} by
 * @property {EndReason} [reason]
 * @property {string} [detail]
 *
 * @typedef {object} AuditTrail
 * @property {string} sessionId
 * @property {AuditEntry[]} entries
 *
 * @typedef {object} ComputerEntry
 * @property {string} sessionId
 * @property {string} hostname
 * @property {string} osVersion
 * @property {string} technician
 * @property {boolean} online
 * @property {string} [lastSeenAt]
 * @property {string} activatedAt
 * @property {string} expiresAt
 * @property {number} secondsLeft
 * @property {string} [agentVersion]
 *
 * @typedef {object} ComputerGroup
 * @property {"adhoc"} group
 * @property {string} name
 * @property {ComputerEntry[]} computers
 *
 * @typedef {object} Account
 * @property {string} account
 * @property {number} slots
 * @property {number} used
 * @property {number} free
 * @property {number} adhocCap
 * @property {number} adhocInUse
 *
 * @typedef {object} LiveTicket
 * @property {string} ticket
 * @property {string} url
 * @property {string} expiresAt
 *
 * @typedef {object} DevTokenResponse
 * @property {string} token
 * @property {string} sub
 *
 * @typedef {object} Problem
 * @property {string} type
 * @property {string} title
 * @property {number} status
 * @property {string} [detail]
 * @property {string} [instance]
 * @property {string} code
 * @property {number} [attemptsLeft]
 * @property {number} [interval]
 * @property {string} [sessionId]
 */

export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status, 0 when the server was not reached
   * @param {Partial<Problem>} problem the answer's body, {} when it was none
   */
  constructor(status, problem) {
    super(problem.detail || problem.code || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status === 0 ? "network" : `http_${status}`);
    this.detail = problem.detail || "";
    this.sessionId = problem.sessionId || "";
    this.attemptsLeft = problem.attemptsLeft;
  }
}

/** @type {() => string} */
let bearer = () => "";
/** @type {() => void} */
let onUnauthorized = () => {};

/**
 * configure sets where the token comes from and what happens when the API answers 401.
 * @param {{ token: () => string, unauthorized: () => void }} hooks
 */
export function configure({ token, unauthorized }) {
  bearer = token;
  onUnauthorized = unauthorized;
}

/**
 * api calls method path with an optional JSON body and returns the JSON answer. signal
 * (an AbortSignal) gives up on a call that takes too long; it then fails as "network".
 * T is the answer's type (a typedef above), taken from where the answer goes: the caller
 * says what it expects; 204 answers null.
 * @template [T=unknown]
 * @param {"GET" | "POST" | "PUT" | "DELETE"} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ auth?: boolean, signal?: AbortSignal }} [options]
 * @returns {Promise<T>}
 */
export async function api(method, path, body, { auth = true, signal } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json, application/problem+json" };
  if (auth) {
    const tok = bearer();
    if (tok) headers.Authorization = `Bearer ${tok}`;
  }
  /** @type {RequestInit} */
  const init = { method, headers, cache: "no-store", credentials: "same-origin", redirect: "error", signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: "network" });
  }
  if (!res.ok) {
    /** @type {Partial<Problem>} */
    let problem = {};
    if ((res.headers.get("Content-Type") || "").includes("json")) {
      try {
        problem = await res.json();
      } catch {
        problem = {};
      }
    }
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && auth && err.code === "unauthorized") onUnauthorized();
    throw err;
  }
  if (res.status === 204) return /** @type {T} */ (null);
  return res.json();
}
