"""All SQL about replicas and the leases they hold on runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.sql import Update

from app.db import Database
from app.models import Replica
from app.runs.repository import RUNS

REPLICAS = Replica.__table__  # type: ignore[attr-defined]
_ACTIVE = ("queued", "running")


async def heartbeat(
    db: Database, replica_id: str, *, started_at: datetime, now: datetime, lease_until: datetime
) -> int:
    """Record that this replica is alive and extend its runs' leases; how many it holds."""
    async with db.writer() as conn:
        beat = await conn.execute(
            update(REPLICAS).where(REPLICAS.c.id == replica_id).values(heartbeat_at=now)
        )
        if beat.rowcount == 0:
            await conn.execute(
                insert(REPLICAS).values(id=replica_id, started_at=started_at, heartbeat_at=now)
            )
        renewed = await conn.execute(
            update(RUNS)
            .where(RUNS.c.owner == replica_id, RUNS.c.status.in_(_ACTIVE))
            .values(lease_expires_at=lease_until)
        )
        return int(renewed.rowcount)


async def expired_runs(db: Database, now: datetime) -> list[tuple[str, str | None]]:
    """(run id, owner) of unfinished runs whose lease ran out."""
    query = select(RUNS.c.id, RUNS.c.owner).where(
        RUNS.c.status.in_(_ACTIVE), RUNS.c.lease_expires_at < now
    )
    async with db.reader() as conn:
        return [(r.id, r.owner) for r in await conn.execute(query)]


async def leftover_runs(db: Database, replica_id: str) -> list[str]:
    """Unfinished runs of this replica, or of no replica (from before leases existed)."""
    query = select(RUNS.c.id).where(
        RUNS.c.status.in_(_ACTIVE), or_(RUNS.c.owner == replica_id, RUNS.c.owner.is_(None))
    )
    async with db.reader() as conn:
        return [r.id for r in await conn.execute(query)]


async def replica_ids(db: Database) -> list[str]:
    """Every replica that ever heartbeat, most recent first."""
    query = select(REPLICAS.c.id).order_by(REPLICAS.c.heartbeat_at.desc())
    async with db.reader() as conn:
        return [r.id for r in await conn.execute(query)]


def take_over(
    run_id: str, owner: str | None, *, replica_id: str, now: datetime, lease_until: datetime
) -> Update:
    """Guard: move an expired run's lease to this replica (only one replica wins it)."""
    same_owner = RUNS.c.owner.is_(None) if owner is None else RUNS.c.owner == owner
    return (
        update(RUNS)
        .where(and_(RUNS.c.id == run_id, same_owner, RUNS.c.lease_expires_at < now))
        .values(owner=replica_id, lease_expires_at=lease_until)
    )
