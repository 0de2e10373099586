"""Early stop: the run spec's setting, the reason a variation was stopped, money saved."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from aideator_scoring.beyond import stop_reason

from app.errors import InvalidInput
from app.events import payloads as events_out
from app.events.log import EventLog
from app.models import Run, Variation, utcnow
from app.runners.base import VariationJob
from app.runs import repository as repo
from app.runs.partial_diff import partial_diff
from app.schemas import EarlyStopPassing, EarlyStopRead, RunCreate
from app.status import VariationStatus

_FINISHED = (VariationStatus.SUCCEEDED, VariationStatus.FAILED, VariationStatus.TIMED_OUT)


def setting(body: RunCreate, variation_count: int) -> dict[str, Any]:
    """The stored setting (`{"passing": k}`, or `{}` for never); refuses settings that can't act."""
    if body.early_stop == "never":
        return {}
    passing = body.early_stop.passing if isinstance(body.early_stop, EarlyStopPassing) else 1
    if not body.check_command:
        raise InvalidInput(
            "early_stop needs a check_command: it stops the run when checks pass",
            details={"field": "early_stop"},
        )
    if passing > variation_count:
        raise InvalidInput(
            f"early_stop.passing is {passing} but the run has {variation_count} variations",
            details={"field": "early_stop.passing"},
        )
    return {"passing": passing}


def needed(run: Run) -> int | None:
    """How many passing variations end the run early; None: it never stops early."""
    passing = run.early_stop.get("passing")
    return passing if isinstance(passing, int) else None


def reason(passed: list[int]) -> str:
    """Why the others were stopped, e.g. `stopped early: variation 2 passed`."""
    return stop_reason(passed)


def saved_usd(variations: list[Variation], stopped: list[int]) -> float | None:
    """Per stopped variation: the median cost of the finished ones minus what it spent (>= 0)."""
    finished = [v.cost_usd for v in variations if v.status in _FINISHED]
    if not stopped or not finished:
        return None
    median = statistics.median(finished)
    spent = {v.variation_id: v.cost_usd for v in variations}
    return round(sum(max(0.0, median - spent.get(vid, 0.0)) for vid in stopped), 6)


def read(run: Run, variations: list[Variation]) -> EarlyStopRead:
    """The API view of a run's early stop."""
    stopped = [int(v) for v in run.early_stop.get("stopped", [])]
    return EarlyStopRead(
        passing=needed(run),
        stopped_variation_ids=stopped,
        reason=run.early_stop.get("reason"),
        saved_usd=saved_usd(variations, stopped),
    )


async def wait_for_passes(
    tasks: dict[int, asyncio.Task[bool]], need: int | None
) -> list[int] | None:
    """Wait for the variation tasks (each returns whether its check passed).

    Returns the passed ids as soon as `need` have passed while others still run (the caller
    stops those); otherwise waits for all and returns None.
    """
    by_task = {task: vid for vid, task in tasks.items()}
    pending: set[asyncio.Task[bool]] = set(by_task)
    passed: list[int] = []
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        passed += sorted(by_task[t] for t in done if not t.cancelled() and t.result())
        if need is not None and len(passed) >= need and pending:
            return passed
    return None


async def record_stopped(events: EventLog, job: VariationJob, why: str, duration: float) -> None:
    """A variation stopped early: `cancelled` with the reason, its partial diff and time.

    Its cost stays what the gateway metered while it ran.
    """
    values: dict[str, Any] = {
        "error": why,
        "duration_seconds": round(duration, 3),
        "finished_at": utcnow(),
    }
    found = await partial_diff(job.workspace, job.base_sha, job.setup_tree)
    if found is not None:
        values |= {
            "diff": found.diff,
            "files_changed": found.files,
            "insertions": found.insertions,
            "deletions": found.deletions,
        }
    cancelled = VariationStatus.CANCELLED
    await events.write(
        [events_out.variation_status(job.run_id, job.variation_id, cancelled, why)],
        guard=repo.set_variation(job.run_id, job.variation_id, cancelled, **values),
    )
