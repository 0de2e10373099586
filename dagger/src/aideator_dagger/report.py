"""The comparison report: `report.json` (schema version 1) and `report.md` for a PR comment."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .scoring import Candidate, choose_winner, rank, winner_reason

SCHEMA_VERSION = 1
OUTPUT_TAIL_CHARS = 4000


@dataclass(frozen=True)
class CheckOutcome:
    """The check command's result on one variation's tree."""

    exit_code: int
    output: str

    @property
    def passed(self) -> bool:
        """True when the check exited 0."""
        return self.exit_code == 0


@dataclass(frozen=True)
class VariationOutcome:
    """Everything known about one finished variation."""

    variation_id: int
    model: str
    result: dict[str, Any]
    transcript: str
    check: CheckOutcome | None = None

    @property
    def diff(self) -> str:
        """The variation's patch text."""
        value = self.result.get("diff")
        return value if isinstance(value, str) else ""


def patch_name(variation_id: int) -> str:
    """File name of a variation's patch in the report directory."""
    return f"variation-{variation_id}.patch"


def transcript_name(variation_id: int) -> str:
    """File name of a variation's stdout transcript in the report directory."""
    return f"variation-{variation_id}.jsonl"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def candidate_of(outcome: VariationOutcome) -> Candidate:
    """The scoring view of an outcome."""
    return Candidate(
        variation_id=outcome.variation_id,
        check_passed=None if outcome.check is None else outcome.check.passed,
        has_diff=bool(outcome.diff.strip()),
        cost_usd=_number(outcome.result.get("cost_usd")),
        duration_seconds=_number(outcome.result.get("duration_seconds")),
    )


def build_report(
    outcomes: list[VariationOutcome],
    *,
    prompt: str,
    repo: dict[str, str],
    check_command: str,
) -> dict[str, Any]:
    """The report object written as report.json."""
    candidates = [candidate_of(o) for o in outcomes]
    ranks = {c.variation_id: i + 1 for i, c in enumerate(rank(candidates))}
    winner = choose_winner(candidates)
    by_id = {o.variation_id: o for o in outcomes}
    variations = []
    for outcome in sorted(outcomes, key=lambda o: o.variation_id):
        result = outcome.result
        check = outcome.check
        variations.append(
            {
                "variation_id": outcome.variation_id,
                "model": outcome.model,
                "rank": ranks[outcome.variation_id],
                "exit_code": result.get("exit_code"),
                "error": result.get("error"),
                "diff_stats": result.get("diff_stats"),
                "usage": result.get("usage"),
                "cost_usd": result.get("cost_usd"),
                "duration_seconds": result.get("duration_seconds"),
                "check": None
                if check is None
                else {
                    "exit_code": check.exit_code,
                    "passed": check.passed,
                    "output_tail": check.output[-OUTPUT_TAIL_CHARS:],
                },
                "patch": patch_name(outcome.variation_id),
                "transcript": transcript_name(outcome.variation_id),
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
        "repo": repo,
        "check_command": check_command or None,
        "variations": variations,
        "winner": None
        if winner is None
        else {
            "variation_id": winner.variation_id,
            "model": by_id[winner.variation_id].model,
            "reason": winner_reason(winner, len(candidates)),
        },
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _check_cell(check: dict[str, Any] | None) -> str:
    if check is None:
        return "-"
    return "✅ passed" if check["passed"] else f"❌ failed ({check['exit_code']})"


def _diff_cell(stats: Any) -> str:
    if not isinstance(stats, dict) or not stats.get("files"):
        return "no change"
    return f"{stats['files']} file(s), +{stats.get('insertions', 0)}/-{stats.get('deletions', 0)}"


def _cost_cell(value: Any) -> str:
    return "-" if _number(value) is None else f"${float(value):.4f}"


def _duration_cell(value: Any) -> str:
    return "-" if _number(value) is None else f"{float(value):.1f} s"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table, fit for a pull request comment."""
    lines = ["## AIdeator comparison", ""]
    winner = report["winner"]
    if winner is None:
        lines.append("**No winner:** no variation changed the code without failing the check.")
    else:
        lines.append(
            f"**Winner: variation {winner['variation_id']}** (`{_cell(winner['model'])}`), "
            f"{winner['reason']}."
        )
    if report["check_command"]:
        lines.append(f"\nCheck command: `{_cell(report['check_command'])}`")
    lines += [
        "",
        "| rank | variation | model | check | diff | agent exit | cost | duration |",
        "|---:|---:|---|---|---|---:|---:|---:|",
    ]
    for v in sorted(report["variations"], key=lambda item: item["rank"]):
        exit_code = "-" if v["exit_code"] is None else str(v["exit_code"])
        lines.append(
            f"| {v['rank']} | {v['variation_id']} | `{_cell(v['model'])}` | "
            f"{_check_cell(v['check'])} | {_diff_cell(v['diff_stats'])} | {exit_code} | "
            f"{_cost_cell(v['cost_usd'])} | {_duration_cell(v['duration_seconds'])} |"
        )
    lines += ["", "Patches: " + ", ".join(f"`{v['patch']}`" for v in report["variations"]), ""]
    return "\n".join(lines)
