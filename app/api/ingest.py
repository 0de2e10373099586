"""Route: relay ingest for agents that run where the server cannot read their stdout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from app.api.deps import RunDep, ServicesDep
from app.errors import AppError
from app.runs.relay import MAX_BODY_BYTES, ingest_lines
from app.schemas import ErrorResponse

router = APIRouter(prefix="/internal", tags=["internal"])


class PayloadTooLarge(AppError):
    """The request body is over the limit."""

    status_code = 413
    code = "payload_too_large"


async def _read_bounded(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"batch over {MAX_BODY_BYTES} bytes; send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/runs/{run_id}/variations/{variation_id}/events",
    openapi_extra={
        "requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    },
    responses={code: {"model": ErrorResponse} for code in (401, 404, 409, 413)},
)
async def ingest(
    run: RunDep,
    variation_id: int,
    request: Request,
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, int]:
    """Append NDJSON protocol lines of one variation (bearer token; idempotent by `seq`)."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    body = await _read_bounded(request)
    return await ingest_lines(
        db=services.db,
        events=services.events,
        run_id=run.id,
        variation_id=variation_id,
        token=token,
        body=body,
    )
