// Number, time and text formatting for the views.

export const TERMINAL_RUN = new Set(["succeeded", "failed", "cancelled", "interrupted"]);
export const TERMINAL_VARIATION = new Set(["succeeded", "failed", "cancelled", "timed_out", "interrupted"]);

/** US dollars: 4 decimals below $1 (agent runs are cheap), 2 above. */
export function money(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const v = Number(value);
  return v < 1 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`;
}

/** Token counts: 980, 12.3k, 1.2M. */
export function tokens(n) {
  const v = Number(n) || 0;
  if (v < 1000) return String(v);
  if (v < 1_000_000) return `${(v / 1000).toFixed(v < 10_000 ? 1 : 0)}k`;
  return `${(v / 1_000_000).toFixed(1)}M`;
}

/** Seconds as "4.5 s", "2 m 05 s", "1 h 02 m". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const s = Math.max(0, Number(seconds));
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
}

/** Seconds between two ISO times (or now), never negative. */
export function elapsed(startIso, endIso) {
  if (!startIso) return null;
  const start = Date.parse(startIso);
  const end = endIso ? Date.parse(endIso) : Date.now();
  return Math.max(0, (end - start) / 1000);
}

/** "just now", "3 min ago", "2 h ago", or a date. */
export function ago(iso) {
  if (!iso) return "";
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** Full local timestamp for tooltips. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** First line of a text, cut to `max` characters. */
export function excerpt(text, max = 120) {
  const first = String(text ?? "").trim().split("\n", 1)[0];
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/** A repository URL shortened for lists: host/owner/name or the last path parts. */
export function repoLabel(url) {
  const text = String(url ?? "");
  try {
    const u = new URL(text);
    if (u.protocol === "https:" || u.protocol === "http:") {
      return `${u.host}${u.pathname.replace(/\.git$/, "")}`;
    }
  } catch {
    // a local path: fall through
  }
  const parts = text.replace(/\/+$/, "").split("/");
  return parts.slice(-2).join("/");
}

/** The model (or command) a variation spec runs, for column headers. */
export function specLabel(spec) {
  if (!spec) return "";
  if (spec.agent === "command") return `$ ${(spec.command || []).join(" ")}`;
  return spec.model || "default model";
}

/** Plural helper: plural(3, "file") -> "3 files". */
export function plural(n, word, many) {
  return `${n.toLocaleString()} ${n === 1 ? word : many ?? `${word}s`}`;
}
