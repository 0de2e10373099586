// The HTTP API (prefix /api/v1) and its one error shape: {"error": {code, message, details}}.

export const API = "/api/v1";

/** An API error: HTTP status plus the server's code, message and details. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field errors as [{field, message}] with form paths (`variations.0.model`). */
  fieldErrors() {
    const d = this.details;
    if (Array.isArray(d)) {
      return d
        .filter((item) => item && typeof item === "object")
        .map((item) => ({ field: normalizeField(String(item.field ?? "")), message: String(item.message ?? this.message) }));
    }
    if (d && typeof d === "object" && typeof d.field === "string") {
      return [{ field: normalizeField(d.field), message: this.message }];
    }
    return [];
  }
}

// Split "a.list[x.y].0" on dots that are not inside brackets.
function splitPath(raw) {
  const parts = [];
  let depth = 0;
  let current = "";
  for (const ch of raw) {
    if (ch === "[") depth += 1;
    if (ch === "]") depth = Math.max(0, depth - 1);
    if (ch === "." && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

const UNION_BRANCHES = new Set(["int", "str", "float", "bool", "list", "dict"]);

/**
 * Pydantic names union branches in error locations (`variations.int`,
 * `variations.list[...VariationSpec].0.model`); the form only knows the data path.
 */
export function normalizeField(raw) {
  const kept = splitPath(raw).filter((p) => p && !p.includes("[") && !UNION_BRANCHES.has(p));
  if (kept[0] === "github_url") kept[0] = "repo_url";
  return kept.join(".");
}

// When the server has API keys configured, the key lives in this tab's session storage
// only, and goes out as X-API-Key (EventSource gets a per-run stream token instead).
const KEY_STORE = "aideator.apiKey";

function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return "";
  }
}

function askForKey() {
  const key = window.prompt("This AIdeator server needs an API key (X-API-Key):");
  if (!key || !key.trim()) return false;
  try {
    sessionStorage.setItem(KEY_STORE, key.trim());
  } catch {
    return false;
  }
  return true;
}

async function request(path, { method = "GET", body, signal, text = false, retried = false } = {}) {
  const init = { method, signal, headers: { Accept: text ? "text/plain, */*" : "application/json" } };
  const sentKey = apiKey();
  if (sentKey) init.headers["X-API-Key"] = sentKey;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${API}${path}`, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "the server cannot be reached", null);
  }
  // Concurrent requests may all meet the 401: ask once, the others retry with the new key.
  if (response.status === 401 && !retried && (apiKey() !== sentKey || askForKey())) {
    return request(path, { method, body, signal, text, retried: true });
  }
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      // not JSON: keep the status line
    }
    const e = payload && payload.error ? payload.error : {};
    throw new ApiError(response.status, e.code || "http_error", e.message || `${response.status} ${response.statusText}`, e.details ?? null);
  }
  return text ? response.text() : response.json();
}

/** GET /ready: readiness and whether the scripted model is in use. */
export async function getReady() {
  try {
    return await request("/ready");
  } catch (err) {
    // 503 still carries the checks; the page shows what it can.
    return { status: "not_ready", checks: {}, error: err.message };
  }
}

/** GET /runs (newest first) a page at a time. */
export function listRuns({ limit = 20, cursor, status, signal } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor) q.set("cursor", cursor);
  if (status) q.set("status", status);
  return request(`/runs?${q}`, { signal });
}

/** GET /runs/{id}: the run with its variations. */
export function getRun(runId, { signal } = {}) {
  return request(`/runs/${encodeURIComponent(runId)}`, { signal });
}

/** POST /runs: start a run. */
export function createRun(spec) {
  return request("/runs", { method: "POST", body: spec });
}

/** POST /runs/{id}/select: record the winning variation. */
export function selectWinner(runId, variationId, reason) {
  const body = { winning_variation_id: variationId };
  if (reason) body.reason = reason;
  return request(`/runs/${encodeURIComponent(runId)}/select`, { method: "POST", body });
}

/** POST /runs/{id}/variations/{n}/push: a new branch (and maybe a pull request). */
export function pushVariation(runId, variationId, { branch, pullRequest = false } = {}) {
  const body = { pull_request: pullRequest };
  if (branch) body.branch = branch;
  return request(`/runs/${encodeURIComponent(runId)}/variations/${variationId}/push`, { method: "POST", body });
}

/** POST /runs/{id}/variations/{n}/messages: the variation's next turn (202 {turn, ...}). */
export function sendMessage(runId, variationId, prompt) {
  return request(`/runs/${encodeURIComponent(runId)}/variations/${variationId}/messages`, { method: "POST", body: { prompt } });
}

/** POST /runs/{id}/variations/{n}/fork: a new run from that variation's tree (202 {run_id, ...}). */
export function forkVariation(runId, variationId, { prompt, variations }) {
  return request(`/runs/${encodeURIComponent(runId)}/variations/${variationId}/fork`, { method: "POST", body: { prompt, variations } });
}

/** GET /runs/{id}/deliveries: the branches the run's variations were pushed as. */
export function listDeliveries(runId) {
  return request(`/runs/${encodeURIComponent(runId)}/deliveries`);
}

/** POST /runs/{id}/cancel. */
export function cancelRun(runId) {
  return request(`/runs/${encodeURIComponent(runId)}/cancel`, { method: "POST" });
}

/** GET the variation's patch as text. */
export function getDiff(runId, variationId, { signal } = {}) {
  return request(`/runs/${encodeURIComponent(runId)}/variations/${variationId}/diff`, { signal, text: true });
}

/** The diff from variation `against`'s resulting tree to variation `variationId`'s. */
export function getInterdiff(runId, variationId, against, { signal } = {}) {
  return request(`${interdiffPath(runId, variationId, against)}`, { signal, text: true });
}

/** The API path (under API) of that diff. */
export function interdiffPath(runId, variationId, against) {
  return `/runs/${encodeURIComponent(runId)}/variations/${variationId}/interdiff?against=${against}`;
}

/** The SSE URL of a run, resuming after `lastEventId` when given. */
export function streamUrl(runId, lastEventId) {
  const base = `${API}/runs/${encodeURIComponent(runId)}/stream`;
  return lastEventId > 0 ? `${base}?last_event_id=${lastEventId}` : base;
}

/** streamUrl plus a fresh stream token when this tab uses an API key. */
export async function openableStreamUrl(runId, lastEventId) {
  const url = streamUrl(runId, lastEventId);
  if (!apiKey()) return url;
  const { token } = await request(`/runs/${encodeURIComponent(runId)}/stream-token`, { method: "POST" });
  return `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}
