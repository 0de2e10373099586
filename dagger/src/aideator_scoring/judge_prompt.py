"""What the judge reads: the task, and per variation its diff, check result and output tail.

Diffs share one budget fairly: each variation gets the same limit (the budget divided by
the number of variations, stated in the request), and a cut diff ends with a marker saying
how many characters were left out. Shared by the server (`app/judge`) and the Dagger
module's `compare` (standard library only), so both ask the judge the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DIFF_BUDGET_CHARS = 120_000  # all diffs together (roughly 30k tokens)
CHECK_TAIL_CHARS = 2_000
OUTPUT_TAIL_CHARS = 2_000
MAX_TOKENS = 4_096

SYSTEM = (
    "You are the judge of a coding contest. Several attempts (variations) at the same task "
    "were made on the same repository. Compare them and call the `rank_variations` tool "
    "exactly once: rank every variation best first and give each a verdict (strong, "
    "acceptable, weak or wrong) with a short rationale. Prefer changes that solve the task "
    "correctly and completely, with a small, clear diff; a passing check is evidence, not "
    "proof. Judge only what you are shown."
)


@dataclass(frozen=True)
class Candidate:
    """One variation as the judge sees it."""

    variation_id: int
    label: str  # model or command
    status: str
    diff: str
    check: str  # e.g. "passed (exit 0)", "failed (exit 1)", "no check command"
    check_tail: str
    output_tail: str


def diff_limit(count: int, budget: int = DIFF_BUDGET_CHARS) -> int:
    """Each variation's share of the diff budget."""
    return budget // max(count, 1)


def clip_diff(diff: str, limit: int) -> str:
    """The diff's first `limit` characters, with a marker saying how much was cut."""
    if len(diff) <= limit:
        return diff
    cut = len(diff) - limit
    return (
        diff[:limit] + f"\n[... {cut:,} more characters of this diff cut: the limit is "
        f"{limit:,} characters per variation ...]\n"
    )


def check_summary(check_command: str | None, exit_code: int | None) -> str:
    """How the check went, as the judge reads it."""
    if not check_command:
        return "no check command (nothing tested this variation)"
    if exit_code is None:
        return "did not run"
    verdict = "passed" if exit_code == 0 else "failed"
    return f"{verdict} (exit {exit_code}) — `{check_command}`"


def request_body(model: str, text: str, tool: dict[str, Any]) -> dict[str, Any]:
    """The Messages API request: the judge's text, forced to call `tool`."""
    return {
        "model": model,
        "max_tokens": MAX_TOKENS,
        "system": SYSTEM,
        "messages": [{"role": "user", "content": text}],
        "tools": [tool],
        "tool_choice": {"type": "tool", "name": tool["name"]},
    }


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def user_message(prompt: str, candidates: list[Candidate], instructions: str | None) -> str:
    """The judge's request text."""
    limit = diff_limit(len(candidates))
    parts = [
        "# The task every variation was given",
        prompt,
        "",
        f"# {len(candidates)} variations",
        f"Each diff is shown up to {limit:,} characters (an equal share of "
        f"{DIFF_BUDGET_CHARS:,}); a longer one is cut and says how much is missing.",
    ]
    if instructions:
        parts += ["", "# What the requester asks you to weigh", instructions]
    for c in candidates:
        fence = "```"
        while fence in c.diff:
            fence += "`"
        parts += [
            "",
            f"## Variation {c.variation_id} ({c.label}), status {c.status}",
            f"Check: {c.check}",
        ]
        if c.check_tail.strip():
            parts += ["Check output (tail):", "```", _tail(c.check_tail, CHECK_TAIL_CHARS), "```"]
        if c.output_tail.strip():
            parts += [
                "Agent output (tail):",
                "```",
                _tail(c.output_tail, OUTPUT_TAIL_CHARS),
                "```",
            ]
        shown = clip_diff(c.diff, limit) if c.diff else "(no changes)"
        parts += ["Diff:", f"{fence}diff", shown.rstrip("\n"), fence]
    return "\n".join(parts) + "\n"
