"""Route: the SSE stream of a run (DESIGN §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse

from app.api.deps import RunDep, ServicesDep
from app.errors import InvalidInput
from app.events.stream import run_event_stream
from app.schemas import ErrorResponse

router = APIRouter(tags=["stream"])


def _cursor(header: str | None, query: int | None) -> int:
    if query is not None:
        return query
    if header is None or not header.strip():
        return 0
    try:
        value = int(header.strip())
    except ValueError:
        raise InvalidInput(
            "Last-Event-ID must be an event id", details={"field": "Last-Event-ID"}
        ) from None
    if value < 0:
        raise InvalidInput("Last-Event-ID must be >= 0", details={"field": "Last-Event-ID"})
    return value


@router.get(
    "/runs/{run_id}/stream",
    name="stream_run",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 404: {"model": ErrorResponse}},
)
async def stream_run(
    run: RunDep,
    services: ServicesDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[
        int | None, Query(ge=0, description="Resume after this event id.")
    ] = None,
) -> EventSourceResponse:
    """Server-Sent Events of a run: replay after the cursor, then live, ending with `complete`."""
    settings = services.settings
    events = run_event_stream(
        db=services.db,
        hub=services.hub,
        run_id=run.id,
        after=_cursor(last_event_id_header, last_event_id),
        retry_ms=2000,
    )
    return EventSourceResponse(
        events,
        ping=settings.sse_ping_interval,
        send_timeout=settings.sse_send_timeout,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
