"""Route: /api/v1/preferences — (winner, other variation) pairs as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.api.deps import ServicesDep
from app.db import Database
from app.errors import InvalidInput
from app.runs.preferences import iter_preferences
from app.schemas import ErrorResponse

router = APIRouter(tags=["preferences"])
MEDIA_TYPE = "application/x-ndjson"


def _utc(value: datetime | None) -> datetime | None:
    # A time without a zone is read as UTC, the zone every stored time has.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _lines(
    db: Database, since: datetime | None, until: datetime | None, include_diffs: bool
) -> AsyncIterator[bytes]:
    async for record in iter_preferences(db, since=since, until=until, include_diffs=include_diffs):
        yield (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


@router.get(
    "/preferences",
    response_class=StreamingResponse,
    responses={200: {"content": {MEDIA_TYPE: {}}}, 422: {"model": ErrorResponse}},
)
async def export_preferences(
    services: ServicesDep,
    since: Annotated[
        str | None,
        Query(
            description="Only runs that finished at or after this ISO 8601 time (UTC if no zone).",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="Only runs that finished before this ISO 8601 time.",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    include_diffs: Annotated[
        bool, Query(description="Add each side's patch text as `diff`.")
    ] = False,
) -> StreamingResponse:
    """One JSON line per (winner, other variation) pair of every run with a winner."""
    start, end = _utc(_parse_time(since, "since")), _utc(_parse_time(until, "until"))
    if start is not None and end is not None and start >= end:
        raise InvalidInput("`since` must be before `until`", details={"field": "since"})
    return StreamingResponse(
        _lines(services.db, start, end, include_diffs),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )


def _parse_time(value: str | None, field: str) -> datetime | None:
    # ISO 8601 only: pydantic's lax datetime would also take numbers as Unix times.
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"`{field}` must be an ISO 8601 time, e.g. 2026-11-22T10:00:00Z",
            details={"field": field},
        ) from None
