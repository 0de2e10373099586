"""Preference pairs: for every run with a winner, (winner, other variation) records.

One record per pair says what was chosen over what, on which prompt and base commit, by
whom and why: the raw material for preference tuning or for reviewing agents. Records are
built from the stored rows only, a page of runs at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from app.db import Database
from app.judge.record import run_judge
from app.models import Run, Variation
from app.runs import repository as repo
from app.runs.views import variation_read

SCHEMA_VERSION = 1
PAGE_RUNS = 100


def _side(run: Run, v: Variation, *, include_diff: bool) -> dict[str, Any]:
    view = variation_read(v, run=run)  # the derived facts, computed in one place
    side: dict[str, Any] = {
        "variation_id": view.variation_id,
        "spec": view.spec,
        "status": view.status,
        "diff_stats": None if view.diff_stats is None else view.diff_stats.model_dump(),
        "check_passed": None if view.check is None else view.check.passed,
        "score": view.score,
        "score_parts": view.score_parts,
        "cost_usd": view.cost_usd,
        "duration_seconds": view.duration_seconds,
        "usage": view.usage.model_dump(),
        "manifest": view.manifest,
        "judge": None if view.judge is None else view.judge.model_dump(),
    }
    if include_diff:
        side["diff"] = v.diff or ""
    return side


def preference_records(
    run: Run, variations: list[Variation], *, include_diffs: bool = False
) -> list[dict[str, Any]]:
    """The run's (winner, other) pairs, in variation order; empty without a winner."""
    by_id = {v.variation_id: v for v in variations}
    winner = by_id.get(run.winning_variation_id) if run.winning_variation_id is not None else None
    if winner is None:
        return []
    chosen = _side(run, winner, include_diff=include_diffs)
    return [
        {
            "schema_version": SCHEMA_VERSION,
            "run_id": run.id,
            "prompt": run.prompt,
            "prompt_sha256": hashlib.sha256(run.prompt.encode()).hexdigest(),
            "repo_url": run.repo_url,
            "ref": run.ref,
            "base_sha": run.base_sha,
            "check_command": run.check_command,
            "scripted_model": run.scripted_model,
            "winner_policy": run.winner_policy,
            "selected_by": run.winner_selected_by,
            "reason": run.winner_reason,
            "run_finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "chosen": chosen,
            "judge": run_judge(run),
            "rejected": _side(run, other, include_diff=include_diffs),
        }
        for other in variations
        if other.variation_id != winner.variation_id
    ]


async def iter_preferences(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    include_diffs: bool = False,
) -> AsyncIterator[dict[str, Any]]:
    """Every preference record of runs that finished in [since, until), oldest run first."""
    after: tuple[datetime, str] | None = None
    while True:
        page = await repo.finished_runs_with_winner(
            db, since=since, until=until, after=after, limit=PAGE_RUNS
        )
        for run in page:
            variations = await repo.get_variations(db, run.id)
            for record in preference_records(run, variations, include_diffs=include_diffs):
                yield record
        if len(page) < PAGE_RUNS:
            return
        last = page[-1]
        if last.finished_at is None:  # cannot happen: the query returns finished runs only
            return
        after = (last.finished_at, last.id)
