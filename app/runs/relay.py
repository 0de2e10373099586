"""Relay ingest: protocol lines POSTed by agents in containers, idempotent by seq."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from app.db import Database
from app.errors import Conflict, NotFound, Unauthorized
from app.events import payloads as events_out
from app.events.log import EventLog
from app.events.protocol import AgentLine, parse_line
from app.runs import repository as repo
from app.runs.states import VARIATION_TERMINAL

MAX_BODY_BYTES = 8 * 1024 * 1024


def new_relay_token() -> tuple[str, str]:
    """A fresh token and the digest stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """SHA-256 hex of a token (tokens are never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def relay_path(run_id: str, variation_id: int) -> str:
    """The ingest path of one variation."""
    return f"/api/v1/internal/runs/{run_id}/variations/{variation_id}/events"


async def ingest_lines(
    *,
    db: Database,
    events: EventLog,
    run_id: str,
    variation_id: int,
    token: str | None,
    body: bytes,
) -> dict[str, int]:
    """Append the batch's lines; a line whose seq was stored before is ignored."""
    variation = await repo.get_variation(db, run_id, variation_id)
    if variation is None:
        raise NotFound(f"run {run_id} has no variation {variation_id}")
    expected = variation.relay_token_sha256
    given = token_digest(token) if token else ""
    if not expected or not hmac.compare_digest(given, expected):
        raise Unauthorized("relay token missing or wrong for this variation")
    if variation.status in VARIATION_TERMINAL:
        raise Conflict(f"variation {variation_id} is {variation.status}; no more lines")
    rows = []
    skipped = 0
    for raw in body.splitlines():
        line = parse_line(raw)
        if line is None:
            continue
        if line.seq is None:  # not a protocol line: without a seq it cannot be de-duplicated
            skipped += 1
            continue
        if line.type == "result":
            line = AgentLine(
                "result", line.seq, line.text, {k: v for k, v in line.data.items() if k != "diff"}
            )
        rows.append(events_out.agent_line(run_id, variation_id, line))
    # Answer only once the batch is committed: an acknowledged line is never lost.
    await events.write(rows)
    return {"received": len(rows), "skipped": skipped}
