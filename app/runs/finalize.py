"""The ends of runs: stopping what is pending, scoring, the winner policy, `complete`."""

from __future__ import annotations

from typing import Any

from aideator_scoring.policy import (
    Outcome,
    choose_winner,
    rank,
    score_parts,
    score_value,
    winner_reason,
)

from app.db import Database
from app.events import payloads as events_out
from app.events.log import EventLog
from app.judge.record import ranks_of
from app.models import Run, Variation, utcnow
from app.runs import repository as repo
from app.runs.views import variation_read
from app.status import RunStatus, VariationStatus

_NOT_DONE = (VariationStatus.QUEUED, VariationStatus.RUNNING)


async def stop_pending(
    events: EventLog,
    run_id: str,
    variations: list[Variation],
    status: VariationStatus,
    error: str | None = None,
) -> None:
    """Move each still-unfinished variation to `status` (legal moves only), with events."""
    for v in variations:
        await events.write(
            [events_out.variation_status(run_id, v.variation_id, status, error)],
            guard=repo.set_variation(
                run_id, v.variation_id, status, error=error, finished_at=utcnow()
            ),
        )


def outcome_of(v: Variation, judge_ranks: dict[int, int] | None = None) -> Outcome:
    """The scoring view of a stored variation (with the judge's rank, when it ranked it)."""
    view = variation_read(v)  # the derived facts, computed in one place
    return Outcome(
        variation_id=v.variation_id,
        status=v.status,
        check_passed=None if view.check is None else view.check.passed,
        diff_files=0 if view.diff_stats is None else view.diff_stats.files,
        cost_usd=v.cost_usd,
        duration_seconds=v.duration_seconds,
        has_result=view.diff_stats is not None,
        judge_rank=(judge_ranks or {}).get(v.variation_id),
    )


def _scores(run: Run, variations: list[Variation]) -> tuple[list[Any], list[dict[str, Any]]]:
    judge_ranks = ranks_of(run)
    ranked = rank([outcome_of(v, judge_ranks) for v in variations])
    v_run_id = variations[0].run_id
    statements: list[Any] = []
    summary: list[dict[str, Any]] = []
    for position, o in enumerate(ranked, start=1):
        parts = score_parts(o, position, len(ranked))
        value = score_value(o)
        statements.append(
            repo.set_variation(v_run_id, o.variation_id, score=value, score_parts=parts)
        )
        summary.append({"variation_id": o.variation_id, "score": value, "score_parts": parts})
    return statements, summary


def _policy_winner(run: Run, variations: list[Variation]) -> tuple[int, str] | None:
    """`best_score`: the best-ranked variation that qualifies, with the reason; else None."""
    if run.winner_policy != "best_score":
        return None
    judge_ranks = ranks_of(run)
    outcomes = [outcome_of(v, judge_ranks) for v in variations]
    winner = choose_winner(outcomes)
    if winner is None:
        return None
    return winner.variation_id, winner_reason(winner, len(rank(outcomes)))


async def finish_run(
    events: EventLog, db: Database, run: Run, status: RunStatus | None, error: str | None = None
) -> None:
    """Score, apply the winner policy, set the run's final status and emit `complete`."""
    variations = await repo.get_variations(db, run.id)
    if status is None:
        succeeded = any(v.status == VariationStatus.SUCCEEDED for v in variations)
        status = RunStatus.SUCCEEDED if succeeded else RunStatus.FAILED
        if status == RunStatus.FAILED and error is None:
            error = "no variation succeeded"
    statements, scores = _scores(run, variations) if variations else ([], [])
    rows = [events_out.run_finished(run.id, status, error=error, scores=scores)]
    stored = await repo.get_run(db, run.id)  # a user's pick (before a follow-up turn) stays
    picked = stored is not None and stored.winner_selected_by == "user"
    best = _policy_winner(run, variations) if status == RunStatus.SUCCEEDED and not picked else None
    if best is not None:
        vid, reason = best
        statements.append(
            repo.set_run(
                run.id, winning_variation_id=vid, winner_selected_by="policy", winner_reason=reason
            )
        )
        rows.append(events_out.winner(run.id, vid, selected_by="policy", reason=reason))
    rows.append(events_out.complete(run.id, status))
    await events.write(
        rows,
        statements,
        guard=repo.set_run(run.id, status, error=error, finished_at=utcnow()),
    )


async def interrupt_run(events: EventLog, db: Database, run_id: str, error: str) -> None:
    """A run nobody runs any more becomes `interrupted`, with its unfinished variations."""
    run = await repo.get_run(db, run_id)
    if run is None:
        return
    variations = await repo.get_variations(db, run_id)
    pending = [v for v in variations if v.status in _NOT_DONE]
    await stop_pending(events, run_id, pending, VariationStatus.INTERRUPTED, error)
    await finish_run(events, db, run, RunStatus.INTERRUPTED, error=error)
