"""All SQL about deliveries (a variation pushed as a branch)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.sql import Executable

from app.db import Database
from app.models import Delivery, utcnow

DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]


def add_delivery(
    *, run_id: str, variation_id: int, branch: str, commit: str, pull_request_url: str | None
) -> Executable:
    """The INSERT the event log commits together with the `delivered` event."""
    return insert(DELIVERIES).values(
        run_id=run_id,
        variation_id=variation_id,
        branch=branch,
        commit=commit,
        pull_request_url=pull_request_url,
        created_at=utcnow(),
    )


async def get_deliveries(db: Database, run_id: str) -> list[Delivery]:
    """A run's deliveries, oldest first."""
    query = select(DELIVERIES).where(DELIVERIES.c.run_id == run_id).order_by(DELIVERIES.c.id)
    async with db.reader() as conn:
        rows = (await conn.execute(query)).all()
    return [Delivery.model_validate(dict(row._mapping)) for row in rows]
