"""SSE streams of a run: replay committed events after a cursor, then tail live ones."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import anyio

from app.db import Database
from app.events.hub import EventHub, read_events

REPLAY_PAGE = 1000


MAX_CHUNK_EVENTS = 500


async def run_event_stream(
    *,
    db: Database,
    hub: EventHub,
    run_id: str,
    after: int,
    retry_ms: int,
    shutdown: anyio.Event | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> AsyncIterator[bytes]:
    """Yield the run's events with id > `after` as SSE bytes, live, ending after `complete`.

    Events go out pre-encoded and several per write, so N clients of a busy run cost N
    socket writes per batch rather than N encodings per line.
    """
    tail = await hub.attach(run_id)
    try:
        cursor = after
        yield f"retry: {retry_ms}\n\n".encode()
        while True:
            seen = tail.version
            events = tail.after(cursor)
            if events is None:
                # Behind the in-memory window: replay from the database, a page at a time.
                events = await read_events(db, run_id, cursor, REPLAY_PAGE)
            if not events:
                if shutdown is not None and shutdown.is_set() and on_shutdown is not None:
                    # The server is stopping: interrupt the runs now, so this stream can
                    # still deliver their final events and `complete` before it closes.
                    on_shutdown()
                    on_shutdown = None
                await tail.wait(seen, timeout=0.5 if shutdown is not None else 1.0)
                continue
            for start in range(0, len(events), MAX_CHUNK_EVENTS):
                chunk = events[start : start + MAX_CHUNK_EVENTS]
                ends = next((i for i, e in enumerate(chunk) if e.type == "complete"), None)
                if ends is not None and await _is_last(db, run_id, chunk[ends].id):
                    yield b"".join(e.wire for e in chunk[: ends + 1])
                    return
                yield b"".join(e.wire for e in chunk)
                cursor = chunk[-1].id
    finally:
        hub.detach(tail)


async def _is_last(db: Database, run_id: str, event_id: int) -> bool:
    # A winner picked after the run ended is followed by a fresh `complete`; end on the last.
    return not await read_events(db, run_id, event_id, 1)
