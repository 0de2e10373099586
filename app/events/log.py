"""The durable event log: ordered, batched appends; wake-ups only after commit.

Every write to the events table (and every status change that must be atomic with its
event) goes through one queue and one flusher task, so a line is committed before any
stream can read it. Each event gets the next number of its run (`run_seq`, the SSE id),
taken in the inserting transaction under the run row's lock, so numbers follow commit
order even with several processes writing one run.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import structlog
from sqlalchemy import bindparam, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from app.db import Database
from app.events.wakeups import WAKEUP_CHANNEL
from app.models import Event, Run, utcnow

log = structlog.get_logger()

_EVENTS = Event.__table__  # type: ignore[attr-defined]
_RUNS = Run.__table__  # type: ignore[attr-defined]
# A retried relay batch (same run, variation, seq) inserts nothing twice, on either store.
_PG_INSERT = postgresql.insert(_EVENTS).on_conflict_do_nothing()
# Hot path: raw executemany skips per-row parameter processing (measured in bench/relay.py).
_SQLITE_INSERT = (
    "INSERT OR IGNORE INTO events "
    "(run_id, variation_id, seq, type, payload, run_seq, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Taking numbers locks the run's row until commit (SQLite: the database), so another
# writer's later numbers for that run commit after these: ids follow commit order.
_CLAIM = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("run"))
    .values(event_seq=_RUNS.c.event_seq + bindparam("count"))
    .returning(_RUNS.c.event_seq)
)
_PG_NOTIFY = text(
    f"SELECT pg_notify('{WAKEUP_CHANNEL}', r) FROM unnest(CAST(:runs AS text[])) AS r"
)
_SQLITE_CLAIM = "UPDATE runs SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq"
# PostgreSQL: deadlock, serialization failure, connection lost: the batch is retried whole.
_RETRY_STATES = {"40P01", "40001", "57P01", "08006", "08003"}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_RETRY_CAP_SECONDS = 2.0


class UnknownRun(Exception):
    """Events were written for a run that has no row."""


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
    return state in _RETRY_STATES


class EventRow(NamedTuple):
    """An event waiting for its commit (the id and timestamp come then)."""

    run_id: str
    variation_id: int | None
    seq: int | None
    type: str
    payload: str


def event_row(
    run_id: str,
    type_: str,
    payload: dict[str, Any] | str,
    *,
    variation_id: int | None = None,
    seq: int | None = None,
) -> EventRow:
    """A row for the events table; `payload` is stored as JSON text and sent verbatim."""
    text = payload if isinstance(payload, str) else _dumps(payload)
    return EventRow(run_id, variation_id, seq, type_, text)


def _sqlite_stamp() -> str:
    # The text form SQLAlchemy's SQLite DATETIME reads back (UTC; the column adds the zone).
    return utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class _Write:
    rows: list[EventRow]
    statements: Sequence[Executable] = ()
    done: asyncio.Future[bool] | None = None
    run_ids: set[str] = field(default_factory=set)
    guard: Executable | None = None
    applied: bool = True


class EventLog:
    """Appends events in batches (one transaction per batch) and announces commits."""

    def __init__(
        self,
        db: Database,
        *,
        on_commit: Callable[[set[str]], None],
        batch_max: int = 1000,
        flush_interval: float = 0.002,
        queue_max: int = 50_000,
    ) -> None:
        self.db = db
        self._on_commit = on_commit
        self._batch_max = batch_max
        self._flush_interval = flush_interval
        self._queue: asyncio.Queue[_Write | None] = asyncio.Queue(maxsize=queue_max)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the flusher task."""
        self._task = asyncio.create_task(self._flusher(), name="event-log-flusher")

    async def close(self) -> None:
        """Commit everything queued, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def append(self, row: EventRow) -> None:
        """Queue one event (agent lines); waits only when the queue is full (back-pressure)."""
        await self._queue.put(_Write(rows=[row], run_ids={row.run_id}))

    async def write(
        self,
        rows: Iterable[EventRow] = (),
        statements: Sequence[Executable] = (),
        *,
        guard: Executable | None = None,
    ) -> bool:
        """Commit events and statements in one transaction, in queue order; waits for commit.

        With `guard` (an UPDATE), nothing of this write is applied unless the guard changed a
        row; returns whether it was applied. This is how illegal transitions emit no events.
        """
        rows = list(rows)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        run_ids = {r.run_id for r in rows}
        await self._queue.put(_Write(rows, statements, done, run_ids, guard))
        return await done

    async def _flusher(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            count = len(first.rows)
            if self._flush_interval and self._queue.empty():
                await asyncio.sleep(self._flush_interval)
            while count < self._batch_max and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                count += len(item.rows)
            await self._commit(batch)

    async def _commit(self, batch: list[_Write]) -> None:
        delay = 0.05
        while True:
            try:
                await self._commit_once(batch)
                break
            except Exception as exc:
                if isinstance(exc, DBAPIError) and _retryable(exc):
                    # Locked, busy, deadlocked or disconnected: retry, never drop a line.
                    log.warning("event_log.retry", error=str(exc.orig), batch=len(batch))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_CAP_SECONDS)
                    continue
                if len(batch) == 1:
                    self._fail(batch[0])
                    break
                # One bad write must not sink the others: commit them one by one.
                for item in batch:
                    await self._commit([item])
                return
        for item in batch:
            if item.done is not None and not item.done.done():
                item.done.set_result(item.applied)
        self._on_commit(set().union(*(item.run_ids for item in batch)))

    async def _commit_once(self, batch: list[_Write]) -> None:
        for item in batch:
            item.applied = True
        async with self.db.writer() as conn:
            rows: list[EventRow] = []
            for item in batch:
                if item.statements or item.guard is not None:
                    if rows:
                        await self._insert(conn, rows)
                        rows = []
                    if item.guard is not None:
                        result = await conn.execute(item.guard)
                        item.applied = result.rowcount > 0
                        if not item.applied:
                            continue
                    for stmt in item.statements:
                        await conn.execute(stmt)
                rows.extend(item.rows)
            if rows:
                await self._insert(conn, rows)
            if not self.db.is_sqlite:
                # Delivered to every replica's listener when (and only if) this commits.
                await conn.execute(
                    _PG_NOTIFY, {"runs": sorted(set().union(*(i.run_ids for i in batch)))}
                )

    async def _number(self, conn: AsyncConnection, rows: list[EventRow]) -> list[int]:
        """The next numbers of each row's run, in row order."""
        counts = Counter(row.run_id for row in rows)
        following: dict[str, int] = {}
        for run_id in sorted(counts):  # one lock order makes deadlocks rare (they are retried)
            if self.db.is_sqlite:
                result = await conn.exec_driver_sql(_SQLITE_CLAIM, (counts[run_id], run_id))
            else:
                result = await conn.execute(_CLAIM, {"run": run_id, "count": counts[run_id]})
            last = result.scalar()
            if last is None:
                raise UnknownRun(run_id)
            following[run_id] = int(last) - counts[run_id] + 1
        numbers = []
        for row in rows:
            numbers.append(following[row.run_id])
            following[row.run_id] += 1
        return numbers

    async def _insert(self, conn: AsyncConnection, rows: list[EventRow]) -> None:
        numbers = await self._number(conn, rows)
        if self.db.is_sqlite:
            stamp = _sqlite_stamp()
            await conn.exec_driver_sql(
                _SQLITE_INSERT, [(*row, n, stamp) for row, n in zip(rows, numbers, strict=True)]
            )
        else:
            now = utcnow()
            await conn.execute(
                _PG_INSERT,
                [
                    row._asdict() | {"run_seq": n, "created_at": now}
                    for row, n in zip(rows, numbers, strict=True)
                ],
            )

    def _fail(self, item: _Write) -> None:
        log.exception("event_log.write_failed", rows=len(item.rows))
        if item.done is not None and not item.done.done():
            item.done.set_exception(RuntimeError("event log write failed"))
