"""Route: the SSE stream of a run (DESIGN §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from app.api.access import AccessDep, require_api_key
from app.api.deps import RunDep, ServicesDep
from app.api.event_stream import EventStreamResponse, ServerStopping
from app.api.limits import StreamSlots
from app.errors import InvalidInput, Unauthorized
from app.events.stream import run_event_stream
from app.schemas import ErrorResponse, StreamToken

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


async def stream_access(
    access: AccessDep,
    run_id: Annotated[str, Path()],
    token: Annotated[
        str | None, Query(description="Stream token from POST .../stream-token (EventSource).")
    ] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> None:
    """An API key, or a stream token issued for this run."""
    if not (access.key_ok(x_api_key) or access.stream_token_ok(token, run_id)):
        raise Unauthorized(
            "missing or wrong X-API-Key or stream token", details={"header": "X-API-Key"}
        )


@router.get(
    "/runs/{run_id}/stream",
    dependencies=[Depends(stream_access)],
    name="stream_run",
    status_code=200,  # EventStreamResponse takes no status_code argument to infer it from
    response_class=EventStreamResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **{code: {"model": ErrorResponse} for code in (401, 404, 422, 429)},
    },
)
async def stream_run(
    run: RunDep,
    services: ServicesDep,
    request: Request,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[
        int | None,
        Query(ge=0, description="Resume after this event id (ids are numbered per run)."),
    ] = None,
) -> EventStreamResponse:
    """Server-Sent Events of a run: replay after the cursor, then live, ending with `complete`."""
    client = request.client.host if request.client else "unknown"
    slots: StreamSlots = request.app.state.stream_slots
    slots.check(client)
    settings = services.settings
    after = _cursor(last_event_id_header, last_event_id)
    if after > run.event_seq:
        # Ids are numbered per run (1, 2, ...): a larger one was never sent by this run.
        raise InvalidInput(
            f"last event id {after} is beyond this run's last event ({run.event_seq}); "
            "resume with an id this run's stream sent, or 0 to replay everything",
            details={"field": "last_event_id", "last_event_id": run.event_seq},
        )
    stopping: ServerStopping = request.app.state.server_stopping
    events = run_event_stream(
        db=services.db,
        hub=services.hub,
        run_id=run.id,
        after=after,
        retry_ms=2000,
        shutdown=stopping.watch(services.hub.wake_all),
        on_shutdown=services.supervisor.begin_shutdown,
        ping_interval=settings.sse_ping_interval,
        shutdown_grace=settings.cancel_grace_seconds + 5,
    )
    return EventStreamResponse(
        events,
        hold=slots.holding(client),
        send_timeout=settings.sse_send_timeout,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/runs/{run_id}/stream-token",
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
async def stream_token(run: RunDep, access: AccessDep) -> StreamToken:
    """A short-lived token that opens this run's stream (EventSource cannot send headers)."""
    token, expires = access.issue_stream_token(run.id)
    return StreamToken(token=token, expires_at=expires, run_id=run.id)
