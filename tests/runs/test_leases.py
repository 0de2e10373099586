"""Leases on both stores: renewal, startup recovery of one's own runs, takeover of the dead's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import insert

from app.config import Settings
from app.db import Database
from app.events.hub import read_events
from app.events.log import EventLog
from app.models import Run, Variation, utcnow
from app.runs import replica_repository as replicas
from app.runs import repository as repo
from app.runs.leases import LeaseKeeper


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[tuple[Database, EventLog]]:
    db = Database(database_url)
    log = EventLog(db, on_commit=lambda _ids: None)
    await log.start()
    yield db, log
    await log.close()
    await db.dispose()


async def _add_run(
    log: EventLog, run_id: str, owner: str | None, *, lease_in: float, status: str = "running"
) -> None:
    now = utcnow()
    run = Run(
        id=run_id,
        repo_url="x",
        prompt="p",
        backend="process",
        status=status,
        timeout_seconds=60,
        created_at=now,
        owner=owner,
        lease_expires_at=now + timedelta(seconds=lease_in),
    )
    variations = [
        Variation(run_id=run_id, variation_id=0, spec={}, status="running"),
        Variation(run_id=run_id, variation_id=1, spec={}, status="succeeded"),
    ]
    await log.write(
        statements=[
            insert(repo.RUNS).values(run.model_dump()),
            insert(repo.VARIATIONS).values([v.model_dump() for v in variations]),
        ]
    )


def _keeper(
    make_settings: Callable[..., Settings], db: Database, log: EventLog, name: str
) -> LeaseKeeper:
    settings = make_settings(replica_id=name, lease_seconds=2)
    return LeaseKeeper(settings=settings, db=db, events=log)


async def _statuses(db: Database, run_id: str) -> tuple[str, list[str]]:
    run = await repo.get_run(db, run_id)
    assert run is not None
    return run.status, [v.status for v in await repo.get_variations(db, run_id)]


class TestLeases:
    async def test_a_dead_replicas_runs_are_taken_over_once(
        self, store: tuple[Database, EventLog], make_settings: Callable[..., Settings]
    ) -> None:
        db, log = store
        await _add_run(log, "dead-run", "a", lease_in=-1)
        await _add_run(log, "live-run", "c", lease_in=60)
        b, c = _keeper(make_settings, db, log, "b"), _keeper(make_settings, db, log, "c")
        assert await b.sweep() == ["dead-run"]
        assert await c.sweep() == [], "only one replica takes a run over"
        assert await _statuses(db, "dead-run") == ("interrupted", ["interrupted", "succeeded"])
        assert await _statuses(db, "live-run") == ("running", ["running", "succeeded"])
        events = await read_events(db, "dead-run", 0, 100)
        assert events[-1].type == "complete"
        assert "replica a stopped renewing its lease" in events[0].payload

    async def test_heartbeat_renews_only_its_own_runs(
        self, store: tuple[Database, EventLog], make_settings: Callable[..., Settings]
    ) -> None:
        db, log = store
        await _add_run(log, "mine", "b", lease_in=0.5)
        await _add_run(log, "theirs", "a", lease_in=0.5)
        b = _keeper(make_settings, db, log, "b")
        assert await b.beat() == 1
        later = utcnow() + timedelta(seconds=1)
        assert await replicas.expired_runs(db, later) == [("theirs", "a")]
        assert await replicas.replica_ids(db) == ["b"]

    async def test_startup_recovers_only_its_own_leftovers(
        self, store: tuple[Database, EventLog], make_settings: Callable[..., Settings]
    ) -> None:
        db, log = store
        await _add_run(log, "mine", "b", lease_in=60)
        await _add_run(log, "legacy", None, lease_in=60, status="queued")
        await _add_run(log, "theirs", "a", lease_in=60)
        b = _keeper(make_settings, db, log, "b")
        assert sorted(await b.recover_own()) == ["legacy", "mine"]
        assert (await _statuses(db, "theirs"))[0] == "running"
        assert (await _statuses(db, "mine"))[0] == "interrupted"

    async def test_a_live_run_of_this_process_is_never_swept(
        self, store: tuple[Database, EventLog], make_settings: Callable[..., Settings]
    ) -> None:
        db, log = store
        await _add_run(log, "slow", "b", lease_in=-1)
        b = _keeper(make_settings, db, log, "b")
        b.active = lambda: {"slow"}
        assert await b.sweep() == []
        assert (await _statuses(db, "slow"))[0] == "running"
