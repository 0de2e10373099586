"""The report object (`report.json`) of a finished run, in the shared report schema.

The schema and the judging live in `aideator_scoring` (shared with the Dagger module);
this module only turns the API view of a run into the facts that package reads.
"""

from __future__ import annotations

from typing import Any

from aideator_scoring.report import (
    SCHEMA_VERSION,
    CheckFacts,
    RunFacts,
    VariationFacts,
    WinnerFacts,
    generator,
    patch_name,
    transcript_name,
    variation_label,
)
from aideator_scoring.report import build_report as build_from_facts
from aideator_scoring.report import run_outcome as outcome_from_facts
from aideator_scoring.report import variation_passed as passed_from_facts

from app.schemas import RunRead, VariationRead

__all__ = [
    "SCHEMA_VERSION",
    "build_report",
    "patch_name",
    "run_outcome",
    "transcript_name",
    "variation_label",
    "variation_passed",
]


def variation_facts(v: VariationRead, *, has_transcript: bool = False) -> VariationFacts:
    """What the report schema needs to know about a variation."""
    check = v.check
    return VariationFacts(
        variation_id=v.variation_id,
        spec=v.spec,
        status=v.status,
        exit_code=v.exit_code,
        error=v.error,
        diff_stats=None if v.diff_stats is None else v.diff_stats.model_dump(),
        usage=v.usage.model_dump(),
        cost_usd=v.cost_usd,
        duration_seconds=v.duration_seconds,
        check=None
        if check is None
        else CheckFacts(check.exit_code, check.duration_seconds, check.output_tail or ""),
        manifest=v.manifest,
        has_transcript=has_transcript,
        synthesized_from=v.synthesized_from,
        judge=None if v.judge is None else v.judge.model_dump(),
    )


def run_facts(run: RunRead) -> RunFacts:
    """What the report schema needs to know about a run."""
    return RunFacts(
        prompt=run.prompt,
        repo={"url": run.repo_url, "ref": run.ref, "base_sha": run.base_sha},
        check_command=run.check_command,
        status=run.status,
        error=run.error,
        details={
            "id": run.id,
            "suggested_check_command": run.suggested_check_command,
            "backend": run.backend,
            "scripted_model": run.scripted_model,
            "winner_policy": run.winner_policy,
            "budget_usd": run.budget_usd,
            "timeout_seconds": run.timeout_seconds,
            "cost_usd": run.cost_usd,
            "synthesis": None if run.synthesis is None else run.synthesis.model_dump(),
            "judge": None if run.judge is None else run.judge.model_dump(),
            "created_at": run.created_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        },
    )


def variation_passed(run: RunRead, v: VariationRead) -> bool:
    """It changed something and its check passed (without a check: its agent succeeded)."""
    return passed_from_facts(run.check_command, variation_facts(v))


def run_outcome(run: RunRead) -> str:
    """`passed`, `failed` or `error` (see `aideator_scoring.report.run_outcome`)."""
    return outcome_from_facts(run_facts(run), [variation_facts(v) for v in run.variations])


def build_report(run: RunRead, *, with_transcripts: bool = False) -> dict[str, Any]:
    """The report object written as `report.json`."""
    winner = None
    if run.winning_variation_id is not None:
        winner = WinnerFacts(
            run.winning_variation_id, run.winner_selected_by or "user", run.winner_reason
        )
    variations = [variation_facts(v, has_transcript=with_transcripts) for v in run.variations]
    return build_from_facts(
        run_facts(run), variations, winner=winner, generator=generator("aideator")
    )
