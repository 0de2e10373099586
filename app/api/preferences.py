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
        datetime | None,
        Query(
            description="Only runs that finished at or after this ISO 8601 time (UTC if no zone)."
        ),
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Only runs that finished before this ISO 8601 time.")
    ] = None,
    include_diffs: Annotated[
        bool, Query(description="Add each side's patch text as `diff`.")
    ] = False,
) -> StreamingResponse:
    """One JSON line per (winner, other variation) pair of every run with a winner."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since >= until:
        raise InvalidInput("`since` must be before `until`", details={"field": "since"})
    return StreamingResponse(
        _lines(services.db, since, until, include_diffs),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )
