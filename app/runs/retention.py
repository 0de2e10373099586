"""Workspace retention: a finished run's workspaces stay until `finished_at` + retention.

While they stay, its variations can take follow-up turns. The deadline comes from the
stored run, so it survives a restart: at startup the workspaces of runs that can still be
continued (succeeded or failed, deadline not passed) are kept and their removal is
scheduled again; everything else (interrupted or cancelled work, past its deadline, no
run) is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from app.db import Database
from app.models import Run, utcnow
from app.runs import repository as repo
from app.runs.continuation import eviction_deadline
from app.runs.turns import REOPENABLE_RUNS

log = structlog.get_logger()


class RunTrees(Protocol):
    """What retention needs of the workspace cache."""

    async def remove_run(self, run_id: str) -> None: ...


class TreesOnDisk(RunTrees, Protocol):
    """The cache as the startup sweep sees it."""

    async def run_ids_on_disk(self) -> list[str]: ...

    async def sweep_orphans(self, active_run_ids: set[str]) -> Sequence[object]: ...


class WorkspaceRetention:
    """Removes each finished run's workspaces at its deadline (one timer per run)."""

    def __init__(self, *, db: Database, trees: RunTrees, retention_seconds: float) -> None:
        self._db = db
        self._trees = trees
        self._seconds = retention_seconds
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._deadlines: dict[str, datetime] = {}

    async def release(self, run_id: str) -> None:
        """The run (or its last turn) ended: remove its trees now, or at its deadline."""
        if self._seconds <= 0:
            await self._remove(run_id)
            return
        run = await repo.get_run(self._db, run_id)
        deadline = None if run is None else eviction_deadline(run, self._seconds)
        self.schedule(run_id, deadline or utcnow() + timedelta(seconds=self._seconds))

    def schedule(self, run_id: str, deadline: datetime) -> None:
        """Remove the run's trees at `deadline` (replacing an earlier timer)."""
        self.hold(run_id)
        task = asyncio.create_task(self._remove_at(run_id, deadline), name=f"release-{run_id}")
        self._timers[run_id] = task
        self._deadlines[run_id] = deadline
        task.add_done_callback(lambda t: self._forget(run_id, t))

    def scheduled(self, run_id: str) -> datetime | None:
        """When the run's trees are due to be removed (None: no removal is pending)."""
        return self._deadlines.get(run_id)

    def _forget(self, run_id: str, task: asyncio.Task[None]) -> None:
        if self._timers.get(run_id) is task:
            self._timers.pop(run_id, None)
            self._deadlines.pop(run_id, None)

    def hold(self, run_id: str) -> None:
        """A follow-up turn started: keep the trees; its end schedules the removal again."""
        timer = self._timers.pop(run_id, None)
        self._deadlines.pop(run_id, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        """Stop every timer (shutdown); the next start's sweep decides what stays."""
        for run_id in list(self._timers):
            self.hold(run_id)

    async def keep_on_startup(self, trees: TreesOnDisk) -> set[str]:
        """Keep the workspaces of runs that can still be continued; remove the rest."""
        kept: dict[str, datetime] = {}
        if self._seconds > 0:
            now = utcnow()
            for run_id in await trees.run_ids_on_disk():
                run = await repo.get_run(self._db, run_id)
                deadline = _continuable_until(run, self._seconds)
                if deadline is not None and deadline > now:
                    kept[run_id] = deadline
        await trees.sweep_orphans(set(kept))
        for run_id, deadline in kept.items():
            self.schedule(run_id, deadline)
        if kept:
            log.info("startup.workspaces_kept", count=len(kept))
        return set(kept)

    async def _remove_at(self, run_id: str, deadline: datetime) -> None:
        await asyncio.sleep(max(0.0, (deadline - utcnow()).total_seconds()))
        await self._remove(run_id)

    async def _remove(self, run_id: str) -> None:
        with contextlib.suppress(Exception):
            await self._trees.remove_run(run_id)


def _continuable_until(run: Run | None, retention_seconds: float) -> datetime | None:
    if run is None or run.status not in REOPENABLE_RUNS:
        return None
    return eviction_deadline(run, retention_seconds)
