"""What a delivered commit and pull request say: the prompt, the variation, the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_TITLE_CHARS = 72
MAX_BODY_PROMPT_CHARS = 2000


def default_title(prompt: str) -> str:
    """The prompt's first non-blank line, cut to a commit subject's length."""
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "AIdeator change")
    return first if len(first) <= MAX_TITLE_CHARS else first[: MAX_TITLE_CHARS - 1] + "…"


def _stats(v: Mapping[str, Any]) -> str:
    stats = v.get("diff_stats") or {}
    files = stats.get("files", 0)
    plus, minus = stats.get("insertions", 0), stats.get("deletions", 0)
    return f"{files} file{'s' if files != 1 else ''}, +{plus}/-{minus}"


def _check(v: Mapping[str, Any]) -> str:
    check = v.get("check")
    if check is None:
        return "not run"
    return "passed" if check["passed"] else f"failed (exit {check['exit_code']})"


def variation_summary(v: Mapping[str, Any]) -> str:
    """One line: the variation, its model, diff size, check and score."""
    score = "-" if v.get("score") is None else f"{v['score']:g}"
    return (
        f"Variation {v['variation_id']} ({v['model']}): {_stats(v)}; check {_check(v)}; "
        f"score {score}."
    )


def commit_message(report: Mapping[str, Any], v: Mapping[str, Any], title: str) -> str:
    """Subject, the prompt, the variation's summary, and trailers naming run and variation."""
    prompt = report["prompt"].strip()
    if len(prompt) > MAX_BODY_PROMPT_CHARS:
        prompt = prompt[:MAX_BODY_PROMPT_CHARS] + "…"
    return (
        f"{title}\n\n{prompt}\n\n{variation_summary(v)}\n\n"
        f"AIdeator-Run: {report['run']['id']}\nAIdeator-Variation: {v['variation_id']}\n"
    )


def pull_request_body(report: Mapping[str, Any], v: Mapping[str, Any]) -> str:
    """The variation's section of report.md: verdict, prompt, its numbers, where it came from."""
    winner = report.get("winner") or {}
    crown = " 🏆 the run's winner" if winner.get("variation_id") == v["variation_id"] else ""
    usage = v["usage"]
    duration = v.get("duration_seconds")
    lines = [
        f"## AIdeator: variation {v['variation_id']} (`{v['model']}`){crown}",
        "",
    ]
    if report["run"].get("scripted_model"):
        lines += ["> ⚠️ **scripted model, not Claude**: agents talked to a test model.", ""]
    prompt = report["prompt"]
    if len(prompt) > MAX_BODY_PROMPT_CHARS:
        prompt = prompt[:MAX_BODY_PROMPT_CHARS] + "…"
    lines += ["> " + line for line in prompt.splitlines() or [""]]
    lines += [
        "",
        "| status | check | diff | tokens in/out | cost | time | score | rank |",
        "|---|---|---|---:|---:|---:|---:|---:|",
        "| "
        + " | ".join(
            [
                v["status"],
                _check(v),
                _stats(v),
                f"{usage['input_tokens']:,} / {usage['output_tokens']:,}",
                f"${v['cost_usd']:.4f}",
                "-" if duration is None else f"{duration:.1f} s",
                "-" if v.get("score") is None else f"{v['score']:g}",
                "-" if v.get("rank") is None else str(v["rank"]),
            ]
        )
        + " |",
        "",
        f"Run `{report['run']['id']}` on `{report['repo']['base_sha'] or '?'}`"
        + (f"; check: `{report['check_command']}`" if report.get("check_command") else "")
        + ".",
    ]
    return "\n".join(lines) + "\n"
