"""Fan-out of committed events to live streams.

One tail per watched run keeps the most recent committed events in memory, so N clients of
one run cost nothing per client but a socket write. This process's own commits are handed
to the tail by the event log right after they commit (no read back); rows committed by
other processes (replicas, woken by LISTEN/NOTIFY) or numbers the tail cannot place are
read from the database, as is everything every `poll_interval` seconds. Streams that fall
behind the in-memory window read from the database instead.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib

from sqlalchemy import select

from app.db import Database
from app.events.wire import Chunk, StoredEvent, pack, stored_event
from app.models import Event

_E = Event.__table__  # type: ignore[attr-defined]


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
        # Streams waiting for the next version: one future each, resolved by `_bump` or by
        # the waiter's own timer (no task per wait: thousands wait at every commit).
        self._waiters: set[asyncio.Future[None]] = set()
        self._dirty = asyncio.Event()
        self.version = 0
        # The last `chunks_after` answer, (cursor, last id, chunks): the clients of a run
        # that keep up all ask for the same cursor after each commit.
        self._packed: tuple[int, int | None, list[Chunk]] | None = None

    def mark_dirty(self) -> None:
        """Note that new events were committed."""
        self._dirty.set()

    async def refresh(self) -> None:
        """Read rows committed since the last refresh and wake the waiting streams."""
        async with self._lock:
            self._dirty.clear()
            while True:
                page = await read_events(self._db, self.run_id, self.last_id or 0, 2000)
                # Events pushed while the query ran are already here: keep only newer ones.
                # A page is a prefix of the run's numbers (they follow commit order).
                known = self.last_id or 0
                self._add([e for e in page if e.id > known] if known else page)
                if len(page) < 2000:
                    break
            if self.last_id is None:
                self.last_id = 0
        self._bump()

    def push(self, events: list[StoredEvent]) -> None:
        """Events this process just committed (numbered in order): take them without a
        query when they follow the last known event; otherwise read them from the store."""
        last = self.last_id
        if last is None or events[0].id > last + 1:
            self.mark_dirty()  # not loaded yet, or others' commits in between: read them
            return
        if events[-1].id <= last:
            return  # a refresh already read them
        self._add(events if events[0].id > last else [e for e in events if e.id > last])
        self._bump()

    def _add(self, events: list[StoredEvent]) -> None:
        if not events:
            return
        self.events.extend(events)
        self._bytes += sum(len(e.wire) for e in events)
        self.last_id = events[-1].id
        if self._bytes > 2 * self._window_bytes:
            self._trim()

    def wake(self) -> None:
        """Wake every stream waiting on this tail (they look again for new events)."""
        self._bump()

    def _bump(self) -> None:
        self.version += 1
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            _release(waiter)

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

    def chunks_after(self, cursor: int) -> list[Chunk] | None:
        """`after(cursor)` packed into writes, packed once for every stream that asks for
        the same cursor; None when memory no longer reaches back that far."""
        packed = self._packed
        if packed is not None and packed[0] == cursor and packed[1] == self.last_id:
            return packed[2]
        events = self.after(cursor)
        if events is None:
            return None
        chunks = pack(events)
        self._packed = (cursor, self.last_id, chunks)
        return chunks

    async def wait(self, seen_version: int, timeout: float) -> None:
        """Wait until a refresh newer than `seen_version`, or `timeout` seconds."""
        if self.version != seen_version:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.add(waiter)
        timer = loop.call_later(timeout, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.discard(waiter)

    async def run_refresher(self, poll_interval: float) -> None:
        """Refresh on every commit note, and at least every `poll_interval` seconds."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), poll_interval)
            await self.refresh()


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
        """New events of these runs were committed elsewhere: read them from the store."""
        for run_id in run_ids:
            tail = self._tails.get(run_id)
            if tail is not None:
                tail.mark_dirty()

    def committed(self, events: dict[str, list[StoredEvent]]) -> None:
        """Called by this process's event log after a commit, with each run's new events."""
        for run_id, run_events in events.items():
            tail = self._tails.get(run_id)
            if tail is None:
                continue
            if run_events:
                tail.push(run_events)
            else:  # committed, but which rows only the store knows
                tail.mark_dirty()

    def knows(self, run_id: str, event_id: int) -> bool:
        """Whether the live streams of a run need not read up to `event_id` (no tail, or
        it has it already): a replica skips the wake-up of its own commits this way."""
        tail = self._tails.get(run_id)
        return tail is None or (tail.last_id is not None and tail.last_id >= event_id)

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

    def wake_all(self) -> None:
        """Wake every waiting stream (e.g. the server is stopping)."""
        for tail in self._tails.values():
            tail.wake()

    async def close(self) -> None:
        """Stop all tails."""
        for task in self._tasks.values():
            task.cancel()
        self._tails.clear()
        self._tasks.clear()
