"""Stored rows -> API shapes."""

from __future__ import annotations

from app.judge.record import judge_cost, run_judge, verdict_of
from app.models import Run, Variation
from app.runs import early_stop, synthesis
from app.runs.continuation import Continuation
from app.runs.turns import turns_of
from app.schemas import CheckResult, DiffStats, RunRead, RunSummary, UsageRead, VariationRead


def variation_read(
    v: Variation, continuation: Continuation | None = None, *, run: Run | None = None
) -> VariationRead:
    """The API view of a variation (`continuation`: whether it can take a follow-up now;
    `run`: for what the run's judge said of it)."""
    stats = (
        None
        if v.files_changed is None
        else DiffStats(
            files=v.files_changed, insertions=v.insertions or 0, deletions=v.deletions or 0
        )
    )
    has_check = v.check_exit_code is not None or v.check_output is not None
    check = (
        CheckResult(
            exit_code=v.check_exit_code,
            passed=v.check_exit_code == 0,
            duration_seconds=v.check_duration_seconds,
            output_tail=v.check_output,
        )
        if has_check
        else None
    )
    return VariationRead(
        variation_id=v.variation_id,
        spec=v.spec,
        status=v.status,
        exit_code=v.exit_code,
        error=v.error,
        diff_stats=stats,
        check=check,
        usage=UsageRead(
            input_tokens=v.input_tokens,
            output_tokens=v.output_tokens,
            cache_creation_input_tokens=v.cache_creation_input_tokens,
            cache_read_input_tokens=v.cache_read_input_tokens,
        ),
        cost_usd=round(v.cost_usd, 6),
        duration_seconds=v.duration_seconds,
        score=v.score,
        score_parts=v.score_parts,
        manifest=v.manifest,
        started_at=v.started_at,
        finished_at=v.finished_at,
        turn=len(turns_of(v)) if continuation is None else continuation.turn,
        continuable=continuation is not None and continuation.continuable,
        continuable_reason=None if continuation is None else continuation.reason,
        continuable_until=None if continuation is None else continuation.until,
        synthesized_from=v.synthesized_from,
        judge=None if run is None else verdict_of(run, v.variation_id),
    )


def _summary_fields(run: Run, count: int, cost: float, passed: int) -> dict[str, object]:
    return {
        "id": run.id,
        "repo_url": run.repo_url,
        "ref": run.ref,
        "base_sha": run.base_sha,
        "prompt": run.prompt,
        "status": run.status,
        "backend": run.backend,
        "error": run.error,
        "variation_count": count,
        "cost_usd": round(cost, 6),
        "check_command": run.check_command,
        "suggested_check_command": None if run.check_command else run.suggested_check_command,
        "passed_count": passed,
        "scripted_model": run.scripted_model,
        "winner_policy": run.winner_policy,
        "winning_variation_id": run.winning_variation_id,
        "winner_selected_by": run.winner_selected_by,
        "winner_reason": run.winner_reason,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "parent": run.parent or None,
    }


def run_summary(run: Run, count: int, cost: float, passed: int) -> RunSummary:
    """The list view of a run (`cost`: its variations'; the judge's is added here)."""
    return RunSummary.model_validate(_summary_fields(run, count, cost + judge_cost(run), passed))


def run_read(
    run: Run,
    variations: list[Variation],
    continuations: dict[int, Continuation] | None = None,
) -> RunRead:
    """The full view of a run (`continuations`: each variation's, by id, when known)."""
    known = continuations or {}
    passed = sum(1 for v in variations if v.check_exit_code == 0)
    cost = sum(v.cost_usd for v in variations) + judge_cost(run)
    fields = _summary_fields(run, len(variations), cost, passed)
    return RunRead.model_validate(
        fields
        | {
            "budget_usd": run.budget_usd,
            "timeout_seconds": run.timeout_seconds,
            "setup_command": run.setup.get("command"),
            "network": run.setup.get("network", "none"),
            "image": run.setup.get("image"),
            "setup": run.setup,
            "early_stop": early_stop.read(run, variations),
            "synthesis": synthesis.read(run),
            "judge": run_judge(run),
            "variations": [
                variation_read(v, known.get(v.variation_id), run=run) for v in variations
            ],
        }
    )
