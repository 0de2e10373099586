"""All SQL about runs and variations (reads, and statements the event log commits)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.sql import Executable, Update

from app.db import Database
from app.models import Event, Run, Variation
from app.runs.states import run_sources, variation_sources

RUNS = Run.__table__  # type: ignore[attr-defined]
VARIATIONS = Variation.__table__  # type: ignore[attr-defined]
EVENTS = Event.__table__  # type: ignore[attr-defined]


def row_to_run(row: Any) -> Run:
    """A Run model from a core row."""
    return Run.model_validate(dict(row._mapping))


def row_to_variation(row: Any) -> Variation:
    """A Variation model from a core row."""
    return Variation.model_validate(dict(row._mapping))


async def get_run(db: Database, run_id: str) -> Run | None:
    """The run, or None."""
    async with db.reader() as conn:
        row = (await conn.execute(select(RUNS).where(RUNS.c.id == run_id))).first()
    return None if row is None else row_to_run(row)


async def get_variations(db: Database, run_id: str) -> list[Variation]:
    """The run's variations by id."""
    query = (
        select(VARIATIONS).where(VARIATIONS.c.run_id == run_id).order_by(VARIATIONS.c.variation_id)
    )
    async with db.reader() as conn:
        return [row_to_variation(r) for r in await conn.execute(query)]


async def get_variation(db: Database, run_id: str, variation_id: int) -> Variation | None:
    """One variation, or None."""
    query = select(VARIATIONS).where(
        VARIATIONS.c.run_id == run_id, VARIATIONS.c.variation_id == variation_id
    )
    async with db.reader() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else row_to_variation(row)


def encode_cursor(created_at: datetime, run_id: str) -> str:
    """Opaque cursor for run pagination."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{run_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    """Inverse of encode_cursor; None when malformed."""
    try:
        stamp, run_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(stamp), run_id
    except (ValueError, UnicodeDecodeError):
        return None


async def list_runs(
    db: Database, *, status: str | None, limit: int, before: tuple[datetime, str] | None
) -> list[tuple[Run, int, float, int]]:
    """Runs newest first with (variation count, total cost, variations whose check passed)."""
    counts = (
        select(
            VARIATIONS.c.run_id,
            func.count().label("n"),
            func.coalesce(func.sum(VARIATIONS.c.cost_usd), 0.0).label("cost"),
            func.coalesce(func.sum(case((VARIATIONS.c.check_exit_code == 0, 1), else_=0)), 0).label(
                "passed"
            ),
        )
        .group_by(VARIATIONS.c.run_id)
        .subquery()
    )
    query = select(RUNS, counts.c.n, counts.c.cost, counts.c.passed).join(
        counts, counts.c.run_id == RUNS.c.id, isouter=True
    )
    if status:
        query = query.where(RUNS.c.status == status)
    if before is not None:
        stamp, run_id = before
        query = query.where(
            or_(RUNS.c.created_at < stamp, and_(RUNS.c.created_at == stamp, RUNS.c.id < run_id))
        )
    query = query.order_by(RUNS.c.created_at.desc(), RUNS.c.id.desc()).limit(limit)
    async with db.reader() as conn:
        rows = (await conn.execute(query)).all()
    out = []
    for row in rows:
        mapping = dict(row._mapping)
        n, cost, passed = mapping.pop("n"), mapping.pop("cost"), mapping.pop("passed")
        out.append((Run.model_validate(mapping), int(n or 0), float(cost or 0.0), int(passed or 0)))
    return out


async def active_run_ids(db: Database) -> list[str]:
    """Runs not yet finished (queued or running)."""
    query = select(RUNS.c.id).where(RUNS.c.status.in_(["queued", "running"]))
    async with db.reader() as conn:
        return [r.id for r in await conn.execute(query)]


def insert_run(run: Run) -> Executable:
    """A statement that stores a new run."""
    return insert(RUNS).values(run.model_dump())


def insert_variations(variations: list[Variation]) -> Executable:
    """A statement that stores a new run's variations."""
    return insert(VARIATIONS).values([v.model_dump() for v in variations])


async def finished_runs_with_winner(
    db: Database,
    *,
    since: datetime | None,
    until: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Run]:
    """Finished runs that have a winner, oldest first, after the (finished_at, id) `after`."""
    query = select(RUNS).where(
        RUNS.c.winning_variation_id.is_not(None), RUNS.c.finished_at.is_not(None)
    )
    if since is not None:
        query = query.where(RUNS.c.finished_at >= since)
    if until is not None:
        query = query.where(RUNS.c.finished_at < until)
    if after is not None:
        stamp, run_id = after
        query = query.where(
            (RUNS.c.finished_at > stamp) | ((RUNS.c.finished_at == stamp) & (RUNS.c.id > run_id))
        )
    query = query.order_by(RUNS.c.finished_at, RUNS.c.id).limit(limit)
    async with db.reader() as conn:
        return [row_to_run(row) for row in await conn.execute(query)]


def set_run(run_id: str, target: str | None = None, **values: Any) -> Update:
    """UPDATE a run; with `target`, only from a status that may legally move there."""
    stmt = update(RUNS).where(RUNS.c.id == run_id)
    if target is not None:
        stmt = stmt.where(RUNS.c.status.in_(run_sources(target)))
        values["status"] = target
    return stmt.values(**values)


def set_variation(
    run_id: str, variation_id: int, target: str | None = None, **values: Any
) -> Executable:
    """UPDATE a variation; with `target`, only from a legal source status."""
    stmt = update(VARIATIONS).where(
        VARIATIONS.c.run_id == run_id, VARIATIONS.c.variation_id == variation_id
    )
    if target is not None:
        stmt = stmt.where(VARIATIONS.c.status.in_(variation_sources(target)))
        values["status"] = target
    return stmt.values(**values)


def add_usage(run_id: str, variation_id: int, tokens: dict[str, int], cost: float) -> Executable:
    """Increment a variation's metered usage and cost."""
    cols = VARIATIONS.c
    return (
        update(VARIATIONS)
        .where(cols.run_id == run_id, cols.variation_id == variation_id)
        .values(
            input_tokens=cols.input_tokens + tokens.get("input_tokens", 0),
            output_tokens=cols.output_tokens + tokens.get("output_tokens", 0),
            cache_creation_input_tokens=cols.cache_creation_input_tokens
            + tokens.get("cache_creation_input_tokens", 0),
            cache_read_input_tokens=cols.cache_read_input_tokens
            + tokens.get("cache_read_input_tokens", 0),
            cost_usd=cols.cost_usd + cost,
        )
    )


def reopen_run(run_id: str, finished: list[str], **values: Any) -> Update:
    """UPDATE a finished run (status in `finished`) back to running, for a follow-up turn."""
    stmt = update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status.in_(finished))
    return stmt.values(status="running", finished_at=None, **values)


def reopen_variation(
    run_id: str, variation_id: int, finished: list[str], **values: Any
) -> Executable:
    """UPDATE a finished variation (status in `finished`) back to running, for its next turn."""
    cols = VARIATIONS.c
    stmt = update(VARIATIONS).where(
        cols.run_id == run_id, cols.variation_id == variation_id, cols.status.in_(finished)
    )
    return stmt.values(status="running", error=None, **values)


async def last_line_seq(db: Database, run_id: str, variation_id: int) -> int:
    """The highest agent line number a variation's events hold (0 when none)."""
    cols = EVENTS.c
    query = select(func.max(cols.seq)).where(
        cols.run_id == run_id, cols.variation_id == variation_id
    )
    async with db.reader() as conn:
        value = (await conn.execute(query)).scalar()
    return int(value or 0)
