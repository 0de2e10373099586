"""SSE streams of a run: replay committed events after a cursor, then tail live ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from app.db import Database
from app.events.hub import EventHub, read_events
from app.events.wire import pack

REPLAY_PAGE = 1000


async def run_event_stream(
    *,
    db: Database,
    hub: EventHub,
    run_id: str,
    after: int,
    retry_ms: int,
    shutdown: asyncio.Event | None = None,
    on_shutdown: Callable[[], None] | None = None,
    ping_interval: float = 15.0,
    shutdown_grace: float = 8.0,
) -> AsyncIterator[bytes]:
    """Yield the run's events with id > `after` as SSE bytes, live, ending after `complete`.

    Events go out pre-encoded and several per write, joined once for every client at the
    same cursor (`RunTail.chunks_after`), so N clients of a busy run cost N socket writes
    per commit rather than N encodings or joins per line. An idle stream sleeps until
    the run's next commit (or the server's stop, which wakes every tail) and sends a ping
    comment after `ping_interval` seconds of silence: no timer or task of its own.
    Once the server stops, the stream ends at `complete` or after `shutdown_grace` seconds.
    """
    loop = asyncio.get_running_loop()
    tail = await hub.attach(run_id)
    try:
        cursor = after
        yield f"retry: {retry_ms}\n\n".encode()
        quiet_since = loop.time()
        stop_at: float | None = None
        while True:
            if stop_at is not None and loop.time() >= stop_at:
                return
            seen = tail.version
            chunks = tail.chunks_after(cursor)
            if chunks is None:
                # Behind the in-memory window: replay from the database, a page at a time.
                chunks = pack(await read_events(db, run_id, cursor, REPLAY_PAGE))
            if not chunks:
                now = loop.time()
                if shutdown is not None and shutdown.is_set():
                    if on_shutdown is not None:
                        # The server is stopping: interrupt the runs now, so this stream
                        # can still deliver their final events and `complete` first.
                        on_shutdown()
                        on_shutdown = None
                    stop_at = stop_at if stop_at is not None else now + shutdown_grace
                    if now >= stop_at:
                        return
                if now - quiet_since >= ping_interval:
                    yield b": ping\n\n"
                    quiet_since = now
                wake = quiet_since + ping_interval
                if stop_at is not None:
                    wake = min(wake, now + 0.5)
                await tail.wait(seen, timeout=max(0.0, wake - now))
                continue
            quiet_since = loop.time()
            for chunk in chunks:
                yield chunk.wire
                cursor = chunk.last_id
                if chunk.ends_complete and await _is_last(db, run_id, cursor):
                    return
    finally:
        hub.detach(tail)


async def _is_last(db: Database, run_id: str, event_id: int) -> bool:
    # A winner picked after the run ended is followed by a fresh `complete`; end on the last.
    return not await read_events(db, run_id, event_id, 1)
