"""Starts runs as asyncio tasks, bounds concurrency, cancels, shuts down, recovers."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.config import Settings
from app.db import Database
from app.egress.gate import EgressGate
from app.errors import BackendUnavailable
from app.events.log import EventLog
from app.models import Run, Variation
from app.runners.base import (
    Availability,
    Capabilities,
    Runner,
    TreeLocation,
)
from app.runs import finalize
from app.runs import repository as repo
from app.runs.continuation import Continuation, continuation_of
from app.runs.execution import RunExecution, StopReason
from app.runs.ports import Gatekeeper, Workspaces
from app.runs.retention import TreesOnDisk, WorkspaceRetention
from app.runs.setup_phase import SetupPhase
from app.runs.turn_tasks import TurnTasks
from app.status import RunStatus, VariationStatus

log = structlog.get_logger()


class Supervisor:
    """Owns every running run's task; its RunExecution is the only caller of runner backends."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        events: EventLog,
        runner: Runner,
        workspaces: Workspaces,
        gateway: Gatekeeper | None = None,
        setup: SetupPhase | None = None,
        egress: EgressGate | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._events = events
        self._workspaces = workspaces
        self._gateway = gateway
        self._exec = RunExecution(
            settings=settings,
            db=db,
            events=events,
            runner=runner,
            workspaces=workspaces,
            gateway=gateway,
            setup=setup,
            egress=egress,
        )
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._shutdown_task: asyncio.Task[None] | None = None
        self._retention = WorkspaceRetention(
            db=db, trees=workspaces, retention_seconds=settings.workspace_retention_seconds
        )
        self._turns = TurnTasks(
            db=db,
            events=events,
            execution=self._exec,
            gateway=gateway,
            retention=self._retention,
            replica_id=settings.replica_id,
            lease_seconds=settings.lease_seconds,
        )

    @property
    def accepting(self) -> bool:
        """False once shutdown began."""
        return self._shutdown_task is None

    @property
    def backend(self) -> str:
        """The runner backend's name."""
        return self._exec.runner.name

    @property
    def capabilities(self) -> Capabilities:
        """What the backend can do (see app/runners/base.py)."""
        return self._exec.runner.capabilities

    async def availability(self) -> Availability:
        """Whether the backend can run variations here (for readiness and new runs)."""
        return await self._exec.runner.availability()

    @property
    def active_runs(self) -> set[str]:
        """Ids of runs with a live task (the run's own, or follow-up turns)."""
        return set(self._tasks) | self._turns.run_ids

    def start(self, run_id: str) -> None:
        """Start a queued run in the background (refused once shutdown began)."""
        if self._shutdown_task is not None:
            raise BackendUnavailable("the server is shutting down; retry shortly")
        task = asyncio.create_task(self._run(run_id), name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(run_id, None))

    async def cancel(self, run_id: str, reason: StopReason = "cancelled") -> bool:
        """Stop a run's agents; returns False when it has no live task."""
        own = self._tasks.get(run_id)
        tasks = [*([] if own is None else [own]), *self._turns.tasks_of(run_id)]
        if not tasks:
            return False
        self._exec.stop_reason.setdefault(run_id, reason)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(asyncio.gather(*tasks, return_exceptions=True))
        return True

    def begin_shutdown(self) -> None:
        """Start interrupting every live run (idempotent); `shutdown()` waits for it."""
        if self._shutdown_task is None:
            self._shutdown_task = asyncio.create_task(self._interrupt_all())

    async def shutdown(self) -> None:
        """Interrupt every live run and wait until their final events are committed."""
        self.begin_shutdown()
        assert self._shutdown_task is not None
        await asyncio.shield(self._shutdown_task)
        await self._interrupt_all()  # anything started meanwhile
        self._retention.close()  # kept trees: the next start's sweep decides

    async def keep_workspaces_on_startup(self, trees: TreesOnDisk) -> set[str]:
        """Keep the trees of runs that can still be followed up; remove the rest."""
        return await self._retention.keep_on_startup(trees)

    async def start_turn(self, run: Run, variation: Variation, prompt: str) -> int:
        """Continue a finished variation with `prompt` in the background; returns the turn.

        Raises Conflict (with the reason) when it cannot continue now.
        """
        if self._shutdown_task is not None:
            raise BackendUnavailable("the server is shutting down; retry shortly")
        vid = variation.variation_id
        return await self._turns.start(
            run.id,
            vid,
            prompt,
            refuse=lambda r, v: self.continuation(r, v).reason,
            workspace=self._workspaces.workspace_path(run.id, vid),
        )

    def continuation(self, run: Run, variation: Variation) -> Continuation:
        """Whether the variation can take a follow-up now (the 409's reason if not), until when."""
        busy = None
        if run.id in self._tasks:
            busy = "the run is still finishing; retry in a moment"
        return continuation_of(
            run,
            variation,
            workspace=self._workspaces.workspace_path(run.id, variation.variation_id),
            remote_tree=self._exec.runner.capabilities.tree is TreeLocation.REMOTE,
            busy=busy,
            in_turn=self._turns.running(run.id),
            retention_seconds=self._settings.workspace_retention_seconds,
        )

    def continuations(self, run: Run, variations: list[Variation]) -> dict[int, Continuation]:
        """`continuation` of each of the run's variations, by variation id."""
        return {v.variation_id: self.continuation(run, v) for v in variations}

    async def _interrupt_all(self) -> None:
        await asyncio.gather(*(self.cancel(rid, "interrupted") for rid in self.active_runs))

    async def _run(self, run_id: str) -> None:
        run = await repo.get_run(self._db, run_id)
        if run is None:
            return
        variations = await repo.get_variations(self._db, run_id)
        with structlog.contextvars.bound_contextvars(run_id=run_id):
            try:
                await self._exec.execute(run, variations)
            except asyncio.CancelledError:
                # Wherever the cancel landed, the run and its variations end properly.
                reason = self._exec.stop_reason.get(run_id, "cancelled")
                stopped = VariationStatus(reason)
                await finalize.stop_pending(self._events, run_id, variations, stopped)
                await finalize.finish_run(self._events, self._db, run, RunStatus(reason))
            except Exception:
                log.exception("run.crashed")
                await finalize.finish_run(
                    self._events,
                    self._db,
                    run,
                    RunStatus.FAILED,
                    error="internal error; see server log",
                )
            finally:
                self._exec.stop_reason.pop(run_id, None)
                self._exec.stopped_early.pop(run_id, None)
                if self._gateway is not None:
                    self._gateway.close_run(run_id)
                await self._retention.release(run_id)
