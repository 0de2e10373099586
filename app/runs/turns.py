"""Follow-up turns: a finished variation continues in its workspace and its agent session.

The API asks for a turn; the supervisor checks it may run and reopens the run and the
variation in one guarded write (one turn at a time per variation; other variations of the
run may take turns meanwhile), then runs the agent again with the new prompt. Claude Code
resumes the session id recorded in the variation's manifest; a `command` agent simply runs
again with the new prompt in `AIDEATOR_PROMPT`. Diff, check, usage, cost and score are
recomputed after it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from app.errors import Conflict
from app.events import payloads as events_out
from app.events.log import EventLog
from app.models import Run, Variation, utcnow
from app.runners.base import AgentSpec
from app.runs import repository as repo
from app.runs.setup_phase import SetupPlan, SetupResult
from app.status import RunStatus, VariationStatus

# A variation may continue from these; cancelled or interrupted ones may not.
CONTINUABLE = (VariationStatus.SUCCEEDED, VariationStatus.FAILED, VariationStatus.TIMED_OUT)
REOPENABLE_RUNS = (RunStatus.SUCCEEDED, RunStatus.FAILED)


def turns_of(variation: Variation) -> list[dict[str, Any]]:
    """The turns recorded in the manifest (the first turn is implicit in older rows)."""
    recorded = variation.manifest.get("turns")
    if isinstance(recorded, list) and recorded:
        return [t for t in recorded if isinstance(t, dict)]
    return [{"turn": 1, "prompt_sha256": variation.manifest.get("prompt_sha256")}]


def refusal(
    run: Run,
    variation: Variation,
    workspace: Path,
    remote_tree: bool,
    in_turn: frozenset[int] = frozenset(),
) -> str | None:
    """Why this variation cannot take a follow-up now, or None.

    `in_turn`: the run's variations whose turn runs in this process (the run is then
    `running` because of them, and its other variations may take a turn as well).
    """
    vid = variation.variation_id
    if run.status == RunStatus.CANCELLED:
        return "the run was cancelled; its variations cannot be continued"
    if vid in in_turn:
        return (
            f"a turn is running on variation {vid}; one turn runs at a time per variation, "
            "wait until it has finished"
        )
    if run.status not in REOPENABLE_RUNS and not (run.status == RunStatus.RUNNING and in_turn):
        return f"the run is {run.status}; its variations can be continued once it has finished"
    if variation.status not in CONTINUABLE:
        return f"variation {vid} is {variation.status}; it cannot be continued"
    if remote_tree:
        return f"the {run.backend!r} backend keeps no workspace to continue in"
    if not workspace.is_dir():
        return (
            "the variation's workspace is gone (removed when the run ended, or once "
            "AIDEATOR_WORKSPACE_RETENTION_SECONDS after it ended had passed)"
        )
    return None


async def reopen(
    events: EventLog,
    run: Run,
    variation: Variation,
    turn: int,
    prompt: str,
    *,
    run_running: bool = False,
    lease: tuple[str, datetime] | None = None,
) -> None:
    """Move the run and the variation back to running for turn `turn` (409 if it lost a race).

    `run_running`: another variation's turn already holds the run at `running`.
    `lease`: (replica, until): this replica runs the turn, so it holds the run's lease.

    The turn is recorded in the manifest at once, so reads show the turn that runs.
    The variation's status event carries the turn's prompt, so every client can label it.
    """
    vid = variation.variation_id
    manifest = variation.manifest | {"turns": record_turn(turns_of(variation), turn, prompt)}
    applied = await events.write(
        [
            *([] if run_running else [events_out.run_status(run.id, RunStatus.RUNNING)]),
            events_out.variation_status(
                run.id, vid, VariationStatus.RUNNING, turn=turn, prompt=prompt
            ),
        ],
        [
            repo.reopen_variation(
                run.id,
                vid,
                [str(s) for s in CONTINUABLE],
                started_at=utcnow(),
                manifest=manifest,
            )
        ],
        guard=repo.reopen_run(
            run.id,
            [str(RunStatus.RUNNING)] if run_running else [str(s) for s in REOPENABLE_RUNS],
            **({} if lease is None else {"owner": lease[0], "lease_expires_at": lease[1]}),
        ),
    )
    if not applied:
        raise Conflict("the run changed meanwhile (another turn started?); try again")


def turn_setup(run: Run, variation: Variation) -> SetupResult:
    """What the first turn started from (its diff baseline), from the variation's manifest."""
    setup = variation.manifest.get("setup") or {}
    image = variation.manifest.get("image")
    plan = SetupPlan(setup.get("command"), setup.get("source"), image)
    return SetupResult(plan, base=run.base_sha or "", tree_sha=setup.get("tree"))


def turn_spec(variation: Variation) -> AgentSpec:
    """The variation's spec, resuming its recorded Claude Code session if it has one."""
    session = variation.manifest.get("session_id")
    spec = AgentSpec.from_stored(variation.spec)
    if isinstance(session, str) and session:
        spec = dataclasses.replace(spec, resume_session=session)
    return spec


def record_turn(previous: list[dict[str, Any]], turn: int, prompt: str) -> list[dict[str, Any]]:
    """The manifest's `turns` list with this turn added."""
    entry = {"turn": turn, "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest()}
    return [t for t in previous if t.get("turn") != turn] + [entry]
