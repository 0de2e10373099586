"""Workspace retention at startup: which runs' trees stay, and their removal is scheduled."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.models import Run, utcnow
from app.runs import retention as retention_module
from app.runs.retention import WorkspaceRetention

HOUR = 3600.0


def _run(run_id: str, status: str, finished_at: datetime | None) -> Run:
    return Run(
        id=run_id,
        repo_url="/repo",
        prompt="p",
        backend="process",
        status=status,
        timeout_seconds=60,
        created_at=utcnow(),
        finished_at=finished_at,
    )


class FakeTrees:
    """Run folders on a pretend disk."""

    def __init__(self, run_ids: list[str]) -> None:
        self.on_disk = set(run_ids)
        self.removed: list[str] = []

    async def run_ids_on_disk(self) -> list[str]:
        return sorted(self.on_disk)

    async def sweep_orphans(self, active_run_ids: set[str]) -> list[str]:
        gone = sorted(self.on_disk - active_run_ids)
        for run_id in gone:
            await self.remove_run(run_id)
        return gone

    async def remove_run(self, run_id: str) -> None:
        self.on_disk.discard(run_id)
        self.removed.append(run_id)


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> dict[str, Run]:
    runs: dict[str, Run] = {}

    async def get_run(_db: Any, run_id: str) -> Run | None:
        return runs.get(run_id)

    monkeypatch.setattr(retention_module.repo, "get_run", get_run)
    return runs


async def test_startup_keeps_continuable_runs_and_schedules_their_removal(
    stored: dict[str, Run],
) -> None:
    now = utcnow()
    stored["fresh"] = _run("fresh", "succeeded", now)
    stored["failed"] = _run("failed", "failed", now - timedelta(minutes=30))
    stored["expired"] = _run("expired", "succeeded", now - timedelta(hours=2))
    stored["interrupted"] = _run("interrupted", "interrupted", now)
    stored["cancelled"] = _run("cancelled", "cancelled", now)
    trees = FakeTrees([*stored, "unknown"])
    keeper = WorkspaceRetention(db=None, trees=trees, retention_seconds=HOUR)  # type: ignore[arg-type]
    kept = await keeper.keep_on_startup(trees)
    assert kept == {"fresh", "failed"}
    assert sorted(trees.removed) == ["cancelled", "expired", "interrupted", "unknown"]
    assert keeper.scheduled("fresh") == now + timedelta(hours=1)
    assert keeper.scheduled("failed") == now + timedelta(minutes=30)
    # The timer removes the trees at the deadline (here: one already due).
    keeper.schedule("fresh", utcnow())
    for _ in range(200):
        if "fresh" in trees.removed:
            break
        await asyncio.sleep(0.01)
    assert "fresh" in trees.removed and keeper.scheduled("fresh") is None
    keeper.close()
    assert keeper.scheduled("failed") is None and trees.on_disk == {"failed"}


async def test_without_retention_startup_keeps_nothing(stored: dict[str, Run]) -> None:
    stored["fresh"] = _run("fresh", "succeeded", utcnow())
    trees = FakeTrees(["fresh"])
    keeper = WorkspaceRetention(db=None, trees=trees, retention_seconds=0)  # type: ignore[arg-type]
    assert await keeper.keep_on_startup(trees) == set()
    assert trees.removed == ["fresh"]
