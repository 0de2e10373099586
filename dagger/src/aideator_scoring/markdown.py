"""`report.md`: a report as Markdown, fit for a pull-request comment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_PATCH_CHARS = 20_000
MAX_PROMPT_CHARS = 600
_HEADER = (
    "|  | rank | variation | model | status | check | diff | tokens in/out | cost | time | score |"
)
_ALIGN = "|---|---:|---:|---|---|---|---|---:|---:|---:|---:|"
_OUTCOME = {
    "passed": "✅ at least one variation passed",
    "failed": "❌ no variation passed",
    "error": "⚠️ the run could not be judged",
}


NO_CHECK_NOTE = (
    "> ⚠️ **No check command**: nothing tested the variations, so the ranking is by diff, "
    "cost and time only."
)


def first_line(text: str | None) -> str:
    """The first non-blank line of an error message (the cause, not its traceback)."""
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _check(v: Mapping[str, Any]) -> str:
    check = v["check"]
    if check is None:
        if v["rank"] is None and v["error"]:
            return f"not run: {_cell(first_line(v['error']))}"
        return "-"
    return "✅ passed" if check["passed"] else f"❌ failed ({check['exit_code']})"


def _diff(stats: Mapping[str, Any] | None) -> str:
    if not stats or not stats.get("files"):
        return "no change"
    files = stats["files"]
    return f"{files} file{'s' if files != 1 else ''}, +{stats['insertions']}/-{stats['deletions']}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _cost(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _synthesized(v: Mapping[str, Any]) -> str:
    sources = v.get("synthesized_from")
    if not sources:
        return ""
    return " (synthesized from " + ", ".join(str(n) for n in sources) + ")"


def _judge_lines(report: Mapping[str, Any]) -> list[str]:
    """The judge's call and its verdict on each variation (nothing without a judge)."""
    judge = (report.get("run") or {}).get("judge")
    if not judge:
        return []
    how = judge["status"] + (f": {_cell(first_line(judge['error']))}" if judge["error"] else "")
    lines = ["", f"**Judge** `{_cell(judge['model'])}`: {how} · cost {_cost(judge['cost_usd'])}"]
    said = [v for v in report["variations"] if v.get("judge")]
    for v in sorted(said, key=lambda v: v["judge"]["rank"]):
        j = v["judge"]
        lines.append(
            f"- variation {v['variation_id']}: **{_cell(j['verdict'])}** "
            f"(judge rank {j['rank']}) — {_cell(j['rationale'])}"
        )
    return lines


def _row(v: Mapping[str, Any], winner_id: int | None) -> str:
    usage = v["usage"]
    cells = [
        "🏆" if v["variation_id"] == winner_id else "",
        "-" if v["rank"] is None else str(v["rank"]),
        str(v["variation_id"]),
        f"`{_cell(v['model'])}`" + _synthesized(v),
        v["status"],
        _check(v),
        _diff(v["diff_stats"]),
        f"{usage.get('input_tokens', 0):,} / {usage.get('output_tokens', 0):,}",
        _cost(v["cost_usd"]),
        _seconds(v["duration_seconds"]),
        "-" if v["score"] is None else f"{v['score']:g}",
    ]
    return "| " + " | ".join(cells) + " |"


def _winner_line(report: Mapping[str, Any]) -> str:
    winner = report["winner"]
    if winner is None:
        return "**No winner recorded.** " + _OUTCOME[report["outcome"]] + "."
    who = "the score policy" if winner["selected_by"] == "policy" else "a reviewer"
    reason = f": {_cell(winner['reason'])}" if winner.get("reason") else ""
    return (
        f"**Winner: variation {winner['variation_id']}** (`{_cell(winner['model'])}`), "
        f"picked by {who}{reason}."
    )


def _fenced(patch: str) -> list[str]:
    clipped = patch[:MAX_PATCH_CHARS]
    fence = "```"
    while fence in clipped:
        fence += "`"
    lines = [f"{fence}diff", clipped.rstrip("\n"), fence]
    if len(patch) > MAX_PATCH_CHARS:
        lines.append(f"_(patch cut at {MAX_PATCH_CHARS:,} characters; see the patch file)_")
    return lines


def _order(v: Mapping[str, Any]) -> tuple[int, int]:
    rank = v["rank"]
    return (rank if isinstance(rank, int) else 1_000_000, v["variation_id"])


def render_markdown(report: Mapping[str, Any], winner_patch: str | None = None) -> str:
    """The report as Markdown: verdict, one table row per variation, the winner's patch."""
    run, repo = report["run"], report["repo"]
    winner = report["winner"]
    winner_id = None if winner is None else winner["variation_id"]
    prompt = report["prompt"]
    if len(prompt) > MAX_PROMPT_CHARS:
        prompt = prompt[:MAX_PROMPT_CHARS] + "…"
    lines = ["## AIdeator comparison", "", _winner_line(report), ""]
    if run.get("scripted_model"):
        lines += ["> ⚠️ **scripted model, not Claude**: agents talked to a test model.", ""]
    lines += ["> " + line for line in prompt.splitlines() or [""]]
    sha = (repo["base_sha"] or "?")[:12]
    lines += [
        "",
        f"Repository `{_cell(repo['url'])}` at `{sha}` · outcome: {_OUTCOME[report['outcome']]}",
    ]
    if run["error"]:
        lines += ["", f"**Run error:** {_cell(first_line(run['error']))}"]
    if report["check_command"]:
        lines.append(f"Check: `{_cell(report['check_command'])}` (exit 0 = passed)")
    else:
        lines += ["", NO_CHECK_NOTE]
        suggested = (report.get("run") or {}).get("suggested_check_command")
        if suggested:
            lines.append(
                f"> This repository looks like it runs `{_cell(suggested)}`: "
                "run again with `--check` to rank by it."
            )
    lines += ["", _HEADER, _ALIGN]
    lines += [_row(v, winner_id) for v in sorted(report["variations"], key=_order)]
    lines += _judge_lines(report)
    # The judge's part counted only when it ranked every scored variation (policy.rank).
    judged = any("judge_rank" in (v.get("score_parts") or {}) for v in report["variations"])
    lines += [
        "",
        "Ranking: check passed, "
        + ("then the judge's rank, " if judged else "")
        + "then a non-empty diff, then lower cost, then shorter time, then lower variation id.",
        "Patches: " + ", ".join(f"`{v['patch']}`" for v in report["variations"]),
    ]
    if winner_id is not None and winner_patch:
        lines += [
            "",
            f"<details><summary>Patch of the winner (variation {winner_id})</summary>",
            "",
            *_fenced(winner_patch),
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"
