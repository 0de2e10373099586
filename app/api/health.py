"""Routes: liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app.api.access import require_api_key
from app.api.deps import ServicesDep
from app.runs.readiness import readiness

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/ready",
    dependencies=[Depends(require_api_key)],
    responses={503: {"description": "Not ready; body says why."}},
)
async def ready(services: ServicesDep) -> JSONResponse:
    """Readiness: the database is writable and the backend can run variations."""
    ok, checks = await readiness(
        db=services.db, supervisor=services.supervisor, settings=services.settings
    )
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503
    )
