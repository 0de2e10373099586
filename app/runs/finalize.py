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
from app.events.log import EventLog, event_row
from app.models import Run, Variation, utcnow
from app.runs import repository as repo

_NOT_DONE = ("queued", "running")


async def stop_pending(
    events: EventLog,
    run_id: str,
    variations: list[Variation],
    status: str,
    error: str | None = None,
) -> None:
    """Move each still-unfinished variation to `status` (legal moves only), with events."""
    for v in variations:
        payload = {"variation_id": v.variation_id, "status": status, "error": error}
        await events.write(
            [event_row(run_id, "variation_status", payload, variation_id=v.variation_id)],
            guard=repo.set_variation(
                run_id, v.variation_id, status, error=error, finished_at=utcnow()
            ),
        )


def outcome_of(v: Variation) -> Outcome:
    """The scoring view of a stored variation."""
    check_passed = (
        None if v.check_exit_code is None and v.check_output is None else (v.check_exit_code == 0)
    )
    return Outcome(
        variation_id=v.variation_id,
        status=v.status,
        check_passed=check_passed,
        diff_files=v.files_changed or 0,
        cost_usd=v.cost_usd,
        duration_seconds=v.duration_seconds,
        has_result=v.files_changed is not None,
    )


def _scores(variations: list[Variation]) -> tuple[list[Any], list[dict[str, Any]]]:
    ranked = rank([outcome_of(v) for v in variations])
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
    outcomes = [outcome_of(v) for v in variations]
    winner = choose_winner(outcomes)
    if winner is None:
        return None
    return winner.variation_id, winner_reason(winner, len(rank(outcomes)))


async def finish_run(
    events: EventLog, db: Database, run: Run, status: str | None, error: str | None = None
) -> None:
    """Score, apply the winner policy, set the run's final status and emit `complete`."""
    variations = await repo.get_variations(db, run.id)
    if status is None:
        status = "succeeded" if any(v.status == "succeeded" for v in variations) else "failed"
        if status == "failed" and error is None:
            error = "no variation succeeded"
    statements, scores = _scores(variations) if variations else ([], [])
    rows = [event_row(run.id, "run_status", {"status": status, "error": error, "scores": scores})]
    best = _policy_winner(run, variations) if status == "succeeded" else None
    if best is not None:
        vid, reason = best
        statements.append(
            repo.set_run(
                run.id, winning_variation_id=vid, winner_selected_by="policy", winner_reason=reason
            )
        )
        rows.append(
            event_row(
                run.id, "winner", {"variation_id": vid, "selected_by": "policy", "reason": reason}
            )
        )
    rows.append(event_row(run.id, "complete", {"status": status}))
    await events.write(
        rows,
        statements,
        guard=repo.set_run(run.id, status, error=error, finished_at=utcnow()),
    )


async def recover_interrupted(events: EventLog, db: Database) -> list[str]:
    """At startup: runs a dead process left unfinished become `interrupted`, streams end."""
    recovered = []
    for run_id in await repo.active_run_ids(db):
        run = await repo.get_run(db, run_id)
        if run is None:
            continue
        variations = await repo.get_variations(db, run_id)
        pending = [v for v in variations if v.status in _NOT_DONE]
        await stop_pending(events, run_id, pending, "interrupted", "server stopped")
        await finish_run(events, db, run, "interrupted", error="server stopped")
        recovered.append(run_id)
    return recovered
