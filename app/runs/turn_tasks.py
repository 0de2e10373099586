"""The follow-up turns running in this process: one at a time per variation.

Several variations of a run may take turns at once. The first turn to start moves the run
back to `running`, holds its workspaces and opens its budget; the last one to end finishes
the run (scores, policy winner, `complete`) and starts the workspace retention again. A
per-run lock orders these steps, so a turn cannot start while the run is being finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import structlog

from app.db import Database
from app.errors import Conflict, NotFound
from app.events.log import EventLog
from app.models import Run, Variation, utcnow
from app.runs import finalize, turns
from app.runs import repository as repo
from app.runs.execution import RunExecution
from app.runs.ports import Gatekeeper
from app.runs.retention import WorkspaceRetention
from app.status import RunStatus, VariationStatus

log = structlog.get_logger()
Refusal = Callable[[Run, Variation], str | None]


class TurnTasks:
    """Starts follow-up turns as tasks and finishes their run after the last one."""

    def __init__(
        self,
        *,
        db: Database,
        events: EventLog,
        execution: RunExecution,
        gateway: Gatekeeper | None,
        retention: WorkspaceRetention,
        replica_id: str,
        lease_seconds: float,
    ) -> None:
        self._db = db
        self._events = events
        self._exec = execution
        self._gateway = gateway
        self._retention = retention
        self._replica_id = replica_id
        self._lease = timedelta(seconds=lease_seconds)
        self._tasks: dict[str, dict[int, asyncio.Task[None]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._cleanups: set[asyncio.Task[None]] = set()

    def running(self, run_id: str) -> frozenset[int]:
        """The run's variations whose turn runs now."""
        return frozenset(self._tasks.get(run_id, {}))

    @property
    def run_ids(self) -> set[str]:
        """Runs with a turn running."""
        return set(self._tasks)

    def tasks_of(self, run_id: str) -> list[asyncio.Task[None]]:
        """The run's live turn tasks."""
        return list(self._tasks.get(run_id, {}).values())

    async def start(
        self, run_id: str, variation_id: int, prompt: str, *, refuse: Refusal, workspace: Path
    ) -> int:
        """Start the variation's next turn; Conflict (with `refuse`'s reason) when it cannot."""
        async with self._lock(run_id):
            run = await repo.get_run(self._db, run_id)
            variation = await repo.get_variation(self._db, run_id, variation_id)
            if run is None or variation is None:
                raise NotFound(f"run {run_id} has no variation {variation_id}")
            reason = refuse(run, variation)
            if reason is not None:
                details = {"status": run.status, "variation_id": variation_id}
                raise Conflict(reason, details=details)
            running = self._tasks.get(run_id, {})
            turn = len(turns.turns_of(variation)) + 1
            await turns.reopen(
                self._events,
                run,
                variation,
                turn,
                prompt,
                run_running=bool(running),
                lease=(self._replica_id, utcnow() + self._lease),  # renewed by the heartbeat
            )
            if not running:
                self._retention.hold(run_id)
                await self._exec.open_budget(run)
            task = asyncio.create_task(
                self._turn(run, variation, prompt, turn, workspace),
                name=f"turn-{run_id}-{variation_id}",
            )
            self._tasks.setdefault(run_id, {})[variation_id] = task
            task.add_done_callback(lambda t: self._check_ended(run, variation, t))
        return turn

    async def _turn(
        self, run: Run, variation: Variation, prompt: str, turn: int, workspace: Path
    ) -> None:
        try:
            await self._exec.turn(run, variation, prompt, turn, workspace)
        finally:
            await self._end(run.id, variation.variation_id)

    def _check_ended(self, run: Run, variation: Variation, task: asyncio.Task[None]) -> None:
        """A task cancelled before it ran never reached `_end`: end its turn here."""
        if self._tasks.get(run.id, {}).get(variation.variation_id) is not task:
            return
        cleanup = asyncio.create_task(self._abandoned(run, variation))
        self._cleanups.add(cleanup)
        cleanup.add_done_callback(self._cleanups.discard)

    async def _abandoned(self, run: Run, variation: Variation) -> None:
        reason = self._exec.stop_reason.get(run.id, "cancelled")
        await finalize.stop_pending(self._events, run.id, [variation], VariationStatus(reason))
        await self._end(run.id, variation.variation_id)

    async def _end(self, run_id: str, variation_id: int) -> None:
        """One turn ended; after the run's last, finish the run and release its trees."""
        async with self._lock(run_id):
            running = self._tasks.get(run_id, {})
            running.pop(variation_id, None)
            if running:
                return
            self._tasks.pop(run_id, None)
            reason = self._exec.stop_reason.pop(run_id, None)
            try:
                run = await repo.get_run(self._db, run_id)
                if run is not None:
                    status = None if reason is None else RunStatus(reason)
                    await finalize.finish_run(self._events, self._db, run, status)
            finally:
                if self._gateway is not None:
                    self._gateway.close_run(run_id)
                await self._retention.release(run_id)

    def _lock(self, run_id: str) -> asyncio.Lock:
        return self._locks.setdefault(run_id, asyncio.Lock())
