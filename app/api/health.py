"""Routes: liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app.api.access import require_api_key
from app.api.deps import ServicesDep

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
    checks: dict[str, Any] = {}
    ok = True
    try:
        await services.db.ping()
        checks["database"] = {"ok": True}
    except Exception as exc:
        ok = False
        checks["database"] = {"ok": False, "detail": str(exc)}
    available = await services.runner.availability()
    ok = ok and available.ok
    checks["backend"] = {
        "name": services.runner.name,
        "ok": available.ok,
        "detail": available.detail,
        "hint": available.hint,
        "limits": available.limits,
    }
    if available.engines:
        checks["backend"]["engines"] = list(available.engines)
    checks["model"] = (
        "scripted model, not Claude" if services.settings.uses_scripted_model else "anthropic"
    )
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503
    )
