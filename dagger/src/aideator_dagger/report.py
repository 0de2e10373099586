"""The comparison report of `compare`: the shared schema and policy (`aideator_scoring`)
fed with what the module knows about each variation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aideator_scoring.markdown import render_markdown
from aideator_scoring.policy import choose_winner, rank, winner_reason
from aideator_scoring.report import (
    CheckFacts,
    RunFacts,
    VariationFacts,
    WinnerFacts,
    generator,
    patch_name,
    transcript_name,
)
from aideator_scoring.report import build_report as build_from_facts

__all__ = [
    "CheckOutcome",
    "VariationOutcome",
    "build_report",
    "patch_name",
    "render_markdown",
    "transcript_name",
]


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
    stopped: str | None = None  # early stop cancelled it: the reason
    synthesized_from: list[int] | None = None  # the synthesized variation: its sources
    judge: dict[str, Any] | None = None  # the judge's {rank, verdict, rationale} on it

    @property
    def diff(self) -> str:
        """The variation's patch text."""
        value = self.result.get("diff")
        return value if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def facts_of(outcome: VariationOutcome) -> VariationFacts:
    """The report schema's view of one variation."""
    result = outcome.result
    code = result.get("exit_code")
    stats = result.get("diff_stats")
    files = 1 if outcome.diff.strip() else 0
    usage = result.get("usage")
    if outcome.stopped is not None:
        return VariationFacts(
            variation_id=outcome.variation_id,
            spec={"model": outcome.model},
            status="cancelled",
            exit_code=None,
            error=outcome.stopped,
            diff_stats=None,
            usage={},
            cost_usd=None,
            duration_seconds=None,
            check=None,
        )
    return VariationFacts(
        variation_id=outcome.variation_id,
        spec={"model": outcome.model},
        status="succeeded" if code == 0 else "failed",
        exit_code=code if isinstance(code, int) else None,
        error=result.get("error"),
        diff_stats={"files": files, **stats} if isinstance(stats, dict) else {"files": files},
        usage=usage if isinstance(usage, dict) else {},
        cost_usd=_number(result.get("cost_usd")),
        duration_seconds=_number(result.get("duration_seconds")),
        check=None
        if outcome.check is None
        else CheckFacts(outcome.check.exit_code, None, outcome.check.output),
        has_transcript=True,
        synthesized_from=outcome.synthesized_from,
        judge=outcome.judge,
    )


def build_report(
    outcomes: list[VariationOutcome],
    *,
    prompt: str,
    repo: dict[str, str],
    check_command: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report object written as report.json; the policy picks the winner.

    `details`: more of the run's fields (`early_stop`, `synthesis`, `judge`).
    """
    variations = [facts_of(o) for o in outcomes]
    scored = [v.outcome for v in variations]
    best = choose_winner(scored)
    winner = (
        None
        if best is None
        else WinnerFacts(best.variation_id, "policy", winner_reason(best, len(rank(scored))))
    )
    status = "succeeded" if any(v.status == "succeeded" for v in variations) else "failed"
    run = RunFacts(
        prompt=prompt,
        repo={"url": repo.get("url"), "ref": repo.get("ref"), "base_sha": repo.get("base_sha")},
        check_command=check_command or None,
        status=status,
        details={"backend": "dagger", "winner_policy": "best_score", **(details or {})},
    )
    return build_from_facts(run, variations, winner=winner, generator=generator("aideator-dagger"))
