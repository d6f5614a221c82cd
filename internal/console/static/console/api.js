// Calls to the API of the same origin. Errors are RFC 9457 problems with a stable code;
// they become ApiError. The token is handed in by auth.js and never written anywhere.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.code || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status === 0 ? "network" : `http_${status}`);
    this.detail = problem.detail || "";
    this.sessionId = problem.sessionId || "";
    this.attemptsLeft = problem.attemptsLeft;
  }
}

let bearer = () => "";
let onUnauthorized = () => {};

/** configure sets where the token comes from and what happens when the API answers 401. */
export function configure({ token, unauthorized }) {
  bearer = token;
  onUnauthorized = unauthorized;
}

/**
 * api calls method path with an optional JSON body and returns the JSON answer. signal
 * (an AbortSignal) gives up on a call that takes too long; it then fails as "network".
 */
export async function api(method, path, body, { auth = true, signal } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (auth) {
    const tok = bearer();
    if (tok) headers.Authorization = `Bearer ${tok}`;
  }
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
  if (res.status === 204) return null;
  return res.json();
}
