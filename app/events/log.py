"""The durable event log: ordered, batched appends; wake-ups only after commit.

Every write to the events table (and every status change that must be atomic with its
event) goes through one queue and one flusher task, so a line is committed before any
stream can read it. Each event gets the next number of its run (`run_seq`, the SSE id),
taken in the inserting transaction under the run row's lock, so numbers follow commit
order even with several processes writing one run.

Group commit: agent lines queued while a transaction is open join the next one (up to
`batch_max` rows), and consecutive lines share one queue entry, so a line costs an append
to a list, not a queue item. After a commit the new events, SSE-encoded once, go to
`on_commit` (the hub), which hands them to live streams without reading them back.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import structlog
from sqlalchemy import bindparam, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from app.db import Database
from app.events.pg_lines import StoredBefore, copy_rows, insert_rows
from app.events.sqlite_lines import (
    SQLITE_CLAIM,
    SQLITE_INSERT,
    UnknownRun,
    commit_lines,
    number_rows,
)
from app.events.wakeups import WAKEUP_CHANNEL
from app.events.wire import StoredEvent
from app.models import Run, utcnow

log = structlog.get_logger()

_RUNS = Run.__table__  # type: ignore[attr-defined]
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
# PostgreSQL: deadlock, serialization failure, connection lost: the batch is retried whole.
_RETRY_STATES = {"40P01", "40001", "57P01", "08006", "08003"}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_RETRY_CAP_SECONDS = 2.0
# A SQLite batch commits on the event loop's thread (sqlite_lines.py): larger batches hold
# the loop longer and were no faster. PostgreSQL's commits of one run follow one another
# (its row lock), each with round trips of its own: 4,000 rows per batch carried a burst
# about 1.4 times as fast as 1,000 (docs/benchmarks-history.md).
SQLITE_BATCH_MAX = 1000
POSTGRES_BATCH_MAX = 4000
Committed = dict[str, list[StoredEvent]]


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.OperationalError):  # locked or busy (the lines fast path)
        return True
    if not isinstance(exc, DBAPIError):
        return False
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
    lines: bool = False  # agent lines only: later lines may join it while it waits
    queued_at: float = field(default_factory=time.monotonic)


class EventLog:
    """Appends events in batches (one transaction per batch) and announces commits."""

    def __init__(
        self,
        db: Database,
        *,
        on_commit: Callable[[Committed], None],
        batch_max: int | None = None,
        flush_interval: float = 0.002,
        queue_max: int = 50_000,
    ) -> None:
        self.db = db
        self._on_commit = on_commit
        if batch_max is None:
            batch_max = SQLITE_BATCH_MAX if db.is_sqlite else POSTGRES_BATCH_MAX
        self._batch_max = batch_max
        self._flush_interval = flush_interval
        self._queue_max = queue_max
        self._pending: deque[_Write] = deque()
        self._queued_rows = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # Run id -> last event id of the transaction being committed (PostgreSQL).
        self.committing: dict[str, int] = {}

    async def start(self) -> None:
        """Start the flusher task."""
        self._task = asyncio.create_task(self._flusher(), name="event-log-flusher")

    async def close(self) -> None:
        """Commit everything queued, then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None

    async def append(self, row: EventRow) -> None:
        """Queue one event (agent lines); waits only when the queue is full (back-pressure)."""
        while not self.offer(row):
            self._room.clear()
            await self._room.wait()

    def offer(self, row: EventRow) -> bool:
        """`append` without waiting: False (nothing queued) when the queue is full."""
        if self._queued_rows >= self._queue_max:
            return False
        last = self._pending[-1] if self._pending else None
        if last is not None and last.lines and len(last.rows) < self._batch_max:
            last.rows.append(row)
            last.run_ids.add(row.run_id)
        else:
            self._pending.append(_Write(rows=[row], run_ids={row.run_id}, lines=True))
        self._queued_rows += 1
        self._wake.set()
        return True

    async def _put(self, item: _Write) -> None:
        while self._queued_rows >= self._queue_max:
            self._room.clear()
            await self._room.wait()
        self._pending.append(item)
        self._queued_rows += len(item.rows)
        self._wake.set()

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
        await self._put(_Write(rows, statements, done, run_ids, guard))
        return await done

    async def _flusher(self) -> None:
        pending = self._pending
        while True:
            if not pending:
                if self._stopping:
                    break
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._flush_interval and self._queued_rows < self._batch_max:
                # Group commit: the transaction begins flush_interval after the first write
                # queued for it (a wait during the previous commit counts); what arrives
                # meanwhile shares it.
                wait = pending[0].queued_at + self._flush_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            batch = [pending.popleft()]
            count = len(batch[0].rows)
            while pending and count + len(pending[0].rows) <= self._batch_max:
                item = pending.popleft()
                batch.append(item)
                count += len(item.rows)
            await self._commit(batch)
            self._queued_rows -= count
            if self._queued_rows < self._queue_max:
                self._room.set()

    async def _commit(self, batch: list[_Write]) -> None:
        delay = 0.05
        copy = True
        while True:
            try:
                await self._commit_once(batch, copy=copy)
                break
            except StoredBefore:
                copy = False  # rolled back; the INSERT skips the rows stored before
                self.committing = {}
                continue
            except Exception as exc:
                self.committing = {}  # rolled back: those numbers may be another writer's
                if _retryable(exc):
                    # Locked, busy, deadlocked or disconnected: retry, never drop a line.
                    error = exc.orig if isinstance(exc, DBAPIError) else exc
                    log.warning("event_log.retry", error=str(error), batch=len(batch))
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
        self._on_commit(self._committed)
        self.committing = {}

    async def _commit_once(self, batch: list[_Write], *, copy: bool) -> None:
        for item in batch:
            item.applied = True
        # Filled by _insert; handed to on_commit only once the transaction has committed.
        self._committed: Committed = {}
        self.committing = {}
        if self.db.is_sqlite and all(item.lines for item in batch):
            lines = [row for item in batch for row in item.rows]
            numbers, inserted = await commit_lines(self.db, lines, _sqlite_stamp())
            self._remember(lines, numbers, inserted)
            return
        async with self.db.writer() as conn:
            rows: list[EventRow] = []
            for item in batch:
                if item.statements or item.guard is not None:
                    if rows:
                        await self._insert(conn, rows, copy=copy)
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
                await self._insert(conn, rows, copy=copy)
            if not self.db.is_sqlite:
                # Delivered to every replica's listener when (and only if) this commits.
                runs = {run_id: run_id for item in batch for run_id in item.run_ids}
                for run_id, events in self._committed.items():
                    if events:  # `<run> <last id>`: this replica's streams have them already
                        runs[run_id] = f"{run_id} {events[-1].id}"
                await conn.execute(_PG_NOTIFY, {"runs": [runs[r] for r in sorted(runs)]})
                # Our own notification may be read before this task resumes after COMMIT.
                self.committing = {r: e[-1].id for r, e in self._committed.items() if e}

    async def _number(self, conn: AsyncConnection, rows: list[EventRow]) -> list[int]:
        """The next numbers of each row's run, in row order."""
        counts = Counter(row.run_id for row in rows)
        last: dict[str, int] = {}
        for run_id in sorted(counts):  # one lock order makes deadlocks rare (they are retried)
            if self.db.is_sqlite:
                result = await conn.exec_driver_sql(SQLITE_CLAIM, (counts[run_id], run_id))
            else:
                result = await conn.execute(_CLAIM, {"run": run_id, "count": counts[run_id]})
            found = result.scalar()
            if found is None:
                raise UnknownRun(run_id)
            last[run_id] = int(found)
        return number_rows([row.run_id for row in rows], last)

    async def _insert(self, conn: AsyncConnection, rows: list[EventRow], *, copy: bool) -> None:
        numbers = await self._number(conn, rows)
        if self.db.is_sqlite:
            stamp = _sqlite_stamp()
            result = await conn.exec_driver_sql(
                SQLITE_INSERT, [(*row, n, stamp) for row, n in zip(rows, numbers, strict=True)]
            )
            inserted = result.rowcount
        elif copy:
            await copy_rows(conn, rows, numbers, utcnow())
            inserted = len(rows)
        else:
            inserted = await insert_rows(conn, rows, numbers, utcnow())
        self._remember(rows, numbers, inserted)

    def _remember(self, rows: list[EventRow], numbers: list[int], inserted: int) -> None:
        """Note the committed events for on_commit (SSE-encoded once, here)."""
        if inserted != len(rows):
            # Some rows were already stored (a retried relay batch): which ones only the
            # store knows, so live streams read this commit back instead of being handed it.
            for row in rows:
                self._committed.setdefault(row.run_id, [])
            return
        committed = self._committed
        for row, n in zip(rows, numbers, strict=True):
            wire = f"id: {n}\nevent: {row.type}\ndata: {row.payload}\n\n".encode()
            events = committed.get(row.run_id)
            if events is None:
                committed[row.run_id] = events = []
            events.append(StoredEvent(n, row.type, wire))

    def _fail(self, item: _Write) -> None:
        log.exception("event_log.write_failed", rows=len(item.rows))
        if item.done is not None and not item.done.done():
            item.done.set_exception(RuntimeError("event log write failed"))
