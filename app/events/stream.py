"""SSE streams of a run: replay committed events after a cursor, then tail live ones."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import ServerSentEvent

from app.db import Database
from app.events.hub import EventHub, read_events

REPLAY_PAGE = 1000


async def run_event_stream(
    *, db: Database, hub: EventHub, run_id: str, after: int, retry_ms: int
) -> AsyncIterator[ServerSentEvent]:
    """Yield the run's events with id > `after`, live, ending after the `complete` event."""
    tail = await hub.attach(run_id)
    try:
        cursor = after
        retry: int | None = retry_ms
        while True:
            seen = tail.version
            events = tail.after(cursor)
            if events is None:
                # Behind the in-memory window: replay from the database, a page at a time.
                events = await read_events(db, run_id, cursor, REPLAY_PAGE)
            if not events:
                await tail.wait(seen, timeout=1.0)
                continue
            for item in events:
                yield ServerSentEvent(
                    data=item.payload, event=item.type, id=str(item.id), retry=retry
                )
                retry = None
                cursor = item.id
                if item.type == "complete":
                    return
    finally:
        hub.detach(tail)
