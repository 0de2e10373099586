"""Run use cases for the API and CLI: create, read, select a winner, cancel."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from app.config import Settings
from app.db import Database
from app.errors import BackendUnavailable, Conflict, InvalidInput, NotFound, TooBusy
from app.events import payloads as events_out
from app.events.log import EventLog
from app.models import Run, Variation, utcnow
from app.runners.base import TreeLocation
from app.runs import early_stop, finalize, fork, synthesis
from app.runs import repository as repo
from app.runs.specs import build_specs
from app.runs.states import RUN_TERMINAL
from app.runs.supervisor import Supervisor
from app.runs.views import run_read, run_summary
from app.schemas import FollowUp, ForkCreate, RunCreate, RunList, RunRead, SelectWinner
from app.status import RunStatus, VariationStatus


async def check_repo_url(url: str, settings: Settings, *, measure: bool = True) -> str:
    """Apply the repository URL policy, and a folder snapshot's size limit (422 `repo_url`).

    `measure=False` (a fork: it starts from its parent's snapshot, not the folder as it is
    now) applies the policy only.
    """
    from app.repos.layout import CacheLayout
    from app.repos.snapshot import measure_folder
    from app.repos.url_policy import check_repo_url as policy

    checked = await policy(url, allow_local=settings.allow_local_repos)
    if measure and not checked.startswith(("https://", "http://")):
        await measure_folder(
            Path(checked.removeprefix("file://")),
            layout=CacheLayout(settings.data_dir.absolute() / "repos"),
            max_bytes=settings.snapshot_max_bytes,
        )
    return checked


async def create_run(
    *,
    body: RunCreate,
    settings: Settings,
    db: Database,
    events: EventLog,
    supervisor: Supervisor,
    parent: dict[str, object] | None = None,
    parent_diff: str | None = None,
) -> tuple[Run, list[Variation]]:
    """Validate, store a queued run with its variations, and start it.

    `parent`/`parent_diff`: a fork's lineage and the diff its workspaces start from (its
    repo_url is the parent run's: the URL policy applies, a folder is not measured again).
    """
    specs = build_specs(body, settings)
    stop_setting = early_stop.setting(body, len(specs))
    synthesis_setting = synthesis.setting(body, specs, settings)
    if not supervisor.accepting:
        raise BackendUnavailable("the server is shutting down; retry shortly")
    active = len(await repo.active_run_ids(db))
    if active >= settings.max_active_runs:
        raise TooBusy(
            f"{active} runs are queued or running (limit {settings.max_active_runs}); "
            "retry when one finishes",
            retry_after=30,
        )
    if body.image is not None and not supervisor.capabilities.images:
        raise InvalidInput(
            f"`image` selects a container image; the {supervisor.backend!r} backend runs no images "
            "(use the dagger backend, or drop `image`)",
            details={"field": "image"},
        )
    repo_url = await check_repo_url(body.repo_url, settings, measure=parent is None)
    available = await supervisor.availability()
    if not available.ok:
        raise BackendUnavailable(
            f"backend {supervisor.backend!r} cannot run here: {available.detail}",
            details={"hint": available.hint},
        )
    now = utcnow()
    run = Run(
        id=str(uuid.uuid4()),
        repo_url=repo_url,
        ref=body.ref,
        prompt=body.prompt,
        check_command=body.check_command,
        backend=supervisor.backend,
        status="queued",
        budget_usd=body.budget_usd,
        timeout_seconds=body.timeout_seconds or settings.variation_timeout_seconds,
        winner_policy=body.winner_policy,
        setup={
            "command": body.setup_command,
            "source": "spec" if body.setup_command else None,
            "timeout_seconds": body.setup_timeout_seconds or settings.setup_timeout_seconds,
            "network": body.network,
            "image": body.image,
        },
        early_stop=stop_setting,
        synthesis=synthesis_setting,
        judge={} if body.judge is None else body.judge.model_dump(exclude_none=True),
        scripted_model=settings.uses_scripted_model,
        created_at=now,
        owner=settings.replica_id,
        lease_expires_at=now + timedelta(seconds=settings.lease_seconds),
        parent=parent,
        parent_diff=parent_diff,
    )
    variations = [
        Variation(
            run_id=run.id,
            variation_id=i,
            spec=spec.model_dump(exclude_none=True),
            status="queued",
        )
        for i, spec in enumerate(specs)
    ]
    await events.write(
        [events_out.run_status(run.id, RunStatus.QUEUED)],
        [
            repo.insert_run(run),
            repo.insert_variations(variations),
        ],
    )
    supervisor.start(run.id)
    return run, variations


async def get_run_or_404(db: Database, run_id: str) -> Run:
    """The run, or NotFound."""
    run = await repo.get_run(db, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found", details={"run_id": run_id})
    return run


async def run_view(*, db: Database, supervisor: Supervisor, run: Run) -> RunRead:
    """The run as the API returns it, with whether each variation can be continued now."""
    variations = await repo.get_variations(db, run.id)
    return run_read(run, variations, supervisor.continuations(run, variations))


async def select_winner(*, db: Database, events: EventLog, run_id: str, body: SelectWinner) -> Run:
    """Record a user's winner (overrides a policy's choice)."""
    run = await get_run_or_404(db, run_id)
    if run.status not in RUN_TERMINAL:
        raise Conflict(
            f"run is {run.status}; pick a winner once it has finished",
            details={"status": run.status},
        )
    vid = body.winning_variation_id
    if await repo.get_variation(db, run_id, vid) is None:
        raise InvalidInput(f"run has no variation {vid}", details={"field": "winning_variation_id"})
    # A fresh `complete` after the winner lets streams that resume past the old one end.
    applied = await events.write(
        [
            events_out.winner(run_id, vid, selected_by="user", reason=body.reason),
            events_out.complete(run_id, run.status),
        ],
        guard=repo.set_run(
            run_id,
            winning_variation_id=vid,
            winner_selected_by="user",
            winner_reason=body.reason,
        ).where(repo.RUNS.c.status.in_(sorted(RUN_TERMINAL))),
    )
    if not applied:
        raise Conflict("run changed while selecting; try again")
    return await get_run_or_404(db, run_id)


async def cancel_run(*, db: Database, events: EventLog, supervisor: Supervisor, run_id: str) -> Run:
    """Stop a run's agents; statuses become `cancelled`."""
    run = await get_run_or_404(db, run_id)
    if run.status in RUN_TERMINAL:
        raise Conflict(f"run already {run.status}", details={"status": run.status})
    await supervisor.cancel(run_id)
    run = await get_run_or_404(db, run_id)
    if run.status not in RUN_TERMINAL:
        # No live task (it never started, or the cancel beat its first step): finish it here.
        # Both writes are guarded, so this is a no-op for whatever already ended.
        variations = await repo.get_variations(db, run_id)
        await finalize.stop_pending(events, run_id, variations, VariationStatus.CANCELLED)
        await finalize.finish_run(events, db, run, RunStatus.CANCELLED)
    run = await get_run_or_404(db, run_id)
    if run.status != RunStatus.CANCELLED:
        # It finished on its own while the cancel was under way: nothing was cancelled.
        raise Conflict(f"run already {run.status}", details={"status": run.status})
    return run


async def list_runs(*, db: Database, status: str | None, limit: int, cursor: str | None) -> RunList:
    """One page of runs, newest first, and the cursor of the next page (if any)."""
    before = None
    if cursor:
        before = repo.decode_cursor(cursor)
        if before is None:
            raise InvalidInput("cursor is not valid", details={"field": "cursor"})
    rows = await repo.list_runs(db, status=status, limit=limit + 1, before=before)
    page = rows[:limit]
    last = page[-1][0] if page else None
    more = len(rows) > limit and last is not None
    next_cursor = repo.encode_cursor(last.created_at, last.id) if more and last else None
    return RunList(items=[run_summary(*row) for row in page], next_cursor=next_cursor)


async def get_variation_or_404(db: Database, run_id: str, variation_id: int) -> Variation:
    """The run's variation, or NotFound."""
    variation = await repo.get_variation(db, run_id, variation_id)
    if variation is None:
        raise NotFound(f"run has no variation {variation_id}")
    return variation


async def follow_up(
    *,
    db: Database,
    settings: Settings,
    supervisor: Supervisor,
    run: Run,
    variation_id: int,
    body: FollowUp,
) -> int:
    """Start the variation's next turn with the user's message; returns the turn number."""
    if len(body.prompt) > settings.max_prompt_chars:
        raise InvalidInput(
            f"prompt is longer than {settings.max_prompt_chars} characters",
            details={"field": "prompt"},
        )
    if not body.prompt.strip():
        raise InvalidInput("prompt is empty", details={"field": "prompt"})
    variation = await get_variation_or_404(db, run.id, variation_id)
    return await supervisor.start_turn(run, variation, body.prompt)


async def fork_variation(
    *,
    db: Database,
    settings: Settings,
    events: EventLog,
    supervisor: Supervisor,
    run: Run,
    variation_id: int,
    body: ForkCreate,
) -> tuple[Run, list[Variation]]:
    """Start a new run from variation `variation_id`'s tree (see app/runs/fork.py)."""
    variation = await get_variation_or_404(db, run.id, variation_id)
    spec = fork.run_spec(
        run,
        variation,
        body,
        parent_count=len(await repo.get_variations(db, run.id)),
        images=supervisor.capabilities.images,
    )
    build_specs(spec, settings)  # bad input is a 422 before any 409
    remote = supervisor.capabilities.tree is TreeLocation.REMOTE
    reason = fork.refusal(run, variation, remote_tree=remote)
    if reason is not None:
        raise Conflict(reason, details={"status": variation.status, "variation_id": variation_id})
    return await create_run(
        body=spec,
        settings=settings,
        db=db,
        events=events,
        supervisor=supervisor,
        parent=fork.lineage(run, variation),
        parent_diff=variation.diff,
    )
