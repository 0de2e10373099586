"""Fan-out of committed events to live streams.

One tail per watched run reads new rows from the database after each commit (or every
`poll_interval` seconds, which also covers writers in other processes) and keeps the most
recent ones in memory, so N clients of one run cost one query per commit, not N. Streams
that fall behind the in-memory window read from the database instead.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from typing import NamedTuple

from sqlalchemy import select

from app.db import Database
from app.models import Event

_E = Event.__table__  # type: ignore[attr-defined]


class StoredEvent(NamedTuple):
    """A committed event as streams send it (only the wire form is kept: memory).

    A tuple of atoms: the garbage collector stops tracking it, so thousands held in a
    tail do not make every full collection (a latency spike for all streams) longer.
    """

    id: int
    type: str
    wire: bytes  # the SSE encoding, made once and shared by every client

    @property
    def payload(self) -> str:
        """The event's JSON data."""
        return self.wire.split(b"\ndata: ", 1)[1][:-2].decode()


def stored_event(event_id: int, type_: str, payload: str) -> StoredEvent:
    """A StoredEvent with its SSE wire form (payload is single-line JSON)."""
    wire = f"id: {event_id}\nevent: {type_}\ndata: {payload}\n\n".encode()
    return StoredEvent(event_id, type_, wire)


async def read_events(db: Database, run_id: str, after: int, limit: int) -> list[StoredEvent]:
    """Committed events of a run numbered above `after`, oldest first."""
    query = (
        select(_E.c.run_seq, _E.c.type, _E.c.payload)
        .where(_E.c.run_id == run_id, _E.c.run_seq > after)
        .order_by(_E.c.run_seq)
        .limit(limit)
    )
    async with db.reader() as conn:
        result = await conn.execute(query)
        return [stored_event(r.run_seq, r.type, r.payload) for r in result]


class RunTail:
    """Recent committed events of one run, refreshed from the database."""

    def __init__(self, db: Database, run_id: str, *, window_bytes: int) -> None:
        self._db = db
        self.run_id = run_id
        self._window_bytes = window_bytes
        self._bytes = 0
        self.events: list[StoredEvent] = []
        self.evicted = False
        self.last_id: int | None = None  # None until the first refresh
        self.watchers = 0
        self._lock = asyncio.Lock()
        # Replaced at each refresh: waiters hold the old one, which is set (no lock: a
        # Condition's re-acquire can be interrupted by a second cancel and then fail).
        self._bumped = asyncio.Event()
        self._dirty = asyncio.Event()
        self.version = 0

    def mark_dirty(self) -> None:
        """Note that new events were committed."""
        self._dirty.set()

    async def refresh(self) -> None:
        """Read rows committed since the last refresh and wake the waiting streams."""
        async with self._lock:
            self._dirty.clear()
            after = self.last_id or 0
            while True:
                page = await read_events(self._db, self.run_id, after, 2000)
                self.events.extend(page)
                self._bytes += sum(len(e.wire) for e in page)
                if len(page) < 2000:
                    break
                after = page[-1].id
            self.last_id = self.events[-1].id if self.events else 0
            if self._bytes > 2 * self._window_bytes:
                self._trim()

        self.version += 1
        bumped, self._bumped = self._bumped, asyncio.Event()
        bumped.set()

    def _trim(self) -> None:
        # Keep the newest window_bytes; clients further behind replay from the database.
        kept, size = len(self.events), 0
        while kept > 1 and size + len(self.events[kept - 1].wire) <= self._window_bytes:
            kept -= 1
            size += len(self.events[kept].wire)
        del self.events[:kept]
        self._bytes = size
        self.evicted = True

    def after(self, cursor: int, limit: int = 500) -> list[StoredEvent] | None:
        """Up to `limit` events after `cursor` from memory, or None if memory no longer
        reaches back that far."""
        if self.last_id is None:
            return None
        if cursor >= self.last_id:
            return []
        # Every evicted event has an id below events[0].id, so such cursors are complete.
        if self.evicted and cursor < self.events[0].id - 1:
            return None
        start = bisect.bisect_right(self.events, cursor, key=lambda e: e.id)
        return self.events[start : start + limit]

    async def wait(self, seen_version: int, timeout: float) -> None:
        """Wait until a refresh newer than `seen_version`, or `timeout` seconds."""
        if self.version != seen_version:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._bumped.wait(), timeout)

    async def run_refresher(self, poll_interval: float) -> None:
        """Refresh on every commit note, and at least every `poll_interval` seconds."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), poll_interval)
            await self.refresh()


class EventHub:
    """Keeps one RunTail per run that has live streams."""

    def __init__(
        self, db: Database, *, window_bytes: int = 8 * 1024 * 1024, poll_interval: float = 1.0
    ) -> None:
        self._db = db
        self._window_bytes = window_bytes
        self._poll = poll_interval
        self._tails: dict[str, RunTail] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def notify(self, run_ids: set[str]) -> None:
        """Called by the event log after a commit touching these runs."""
        for run_id in run_ids:
            tail = self._tails.get(run_id)
            if tail is not None:
                tail.mark_dirty()

    async def attach(self, run_id: str) -> RunTail:
        """Start watching a run (first watcher loads it); pair with `detach`."""
        tail = self._tails.get(run_id)
        if tail is None:
            tail = RunTail(self._db, run_id, window_bytes=self._window_bytes)
            self._tails[run_id] = tail
            self._tasks[run_id] = asyncio.create_task(tail.run_refresher(self._poll))
            tail.mark_dirty()
        tail.watchers += 1
        return tail

    def detach(self, tail: RunTail) -> None:
        """Stop watching; the last watcher stops the tail."""
        tail.watchers -= 1
        if tail.watchers <= 0 and self._tails.get(tail.run_id) is tail:
            del self._tails[tail.run_id]
            self._tasks.pop(tail.run_id).cancel()

    async def close(self) -> None:
        """Stop all tails."""
        for task in self._tasks.values():
            task.cancel()
        self._tails.clear()
        self._tasks.clear()
