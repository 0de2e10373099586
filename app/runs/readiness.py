"""Readiness: the database answers and the backend can run variations."""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.db import Database
from app.runs.supervisor import Supervisor


async def readiness(
    *, db: Database, supervisor: Supervisor, settings: Settings
) -> tuple[bool, dict[str, Any]]:
    """Whether the server is ready, and each check's details."""
    checks: dict[str, Any] = {}
    ok = True
    try:
        await db.ping()
        checks["database"] = {"ok": True}
    except Exception as exc:
        ok = False
        checks["database"] = {"ok": False, "detail": str(exc)}
    available = await supervisor.availability()
    ok = ok and available.ok
    checks["backend"] = {
        "name": supervisor.backend,
        "ok": available.ok,
        "detail": available.detail,
        "hint": available.hint,
        "limits": available.limits,
    }
    if available.engines:
        checks["backend"]["engines"] = list(available.engines)
    checks["model"] = "scripted model, not Claude" if settings.uses_scripted_model else "anthropic"
    return ok, checks
