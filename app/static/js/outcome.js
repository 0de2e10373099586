// What a variation came to, in one word the user can act on: its check passed or failed, no
// check ran, it changed nothing, or it failed before its agent reported anything (unranked).
// The agent's own exit is secondary detail.

import { TERMINAL_VARIATION } from "./format.js";

/** First non-blank line of an error: the cause, not its trace. */
export function firstLine(text) {
  return String(text ?? "").split("\n").map((l) => l.trim()).find(Boolean) ?? "";
}

/** Failed before the agent left a result (no clone, no workspace): nothing to rank. */
export function isUnranked(v) {
  return v.status === "failed" && (v.score === null || v.score === undefined) && !v.diff_stats && Boolean(v.error);
}

/**
 * The headline of a variation: {kind, label, detail}.
 * kind: working | passed | failed | unchecked | no-change | error | stopped
 */
export function outcomeOf(v) {
  const exit = v.exit_code === null || v.exit_code === undefined ? null : `agent exited ${v.exit_code}`;
  if (!TERMINAL_VARIATION.has(v.status)) return { kind: "working", label: v.status === "queued" ? "Queued" : "Running", detail: null };
  if (isUnranked(v)) return { kind: "error", label: "Error", detail: firstLine(v.error) };
  if (v.status === "cancelled" || v.status === "interrupted") return { kind: "stopped", label: v.status === "cancelled" ? "Cancelled" : "Interrupted", detail: exit };
  if (v.check) {
    return v.check.passed
      ? { kind: "passed", label: "Check passed", detail: exit }
      : { kind: "failed", label: "Check failed", detail: [v.check.exit_code === null ? null : `check exit ${v.check.exit_code}`, exit].filter(Boolean).join(" · ") };
  }
  if (v.status === "timed_out") return { kind: "error", label: "Timed out", detail: firstLine(v.error) || exit };
  if (v.diff_stats && !v.diff_stats.files) return { kind: "no-change", label: "No change", detail: exit };
  if (v.status === "failed") return { kind: "error", label: "Agent failed", detail: firstLine(v.error) || exit };
  return { kind: "unchecked", label: "Not checked", detail: exit };
}

/** Under the manual policy with no winner yet: the best-ranked variation that qualifies. */
export function suggestedId(run) {
  if (run.winner_policy !== "manual") return null;
  if (run.winning_variation_id !== null && run.winning_variation_id !== undefined) return null;
  let best = null;
  for (const v of run.variations) {
    const p = v.score_parts || {};
    if (!p.qualifies || !p.rank) continue;
    if (best === null || p.rank < best.rank) best = { id: v.variation_id, rank: p.rank };
  }
  return best ? best.id : null;
}
