"""SQL for the judge: the tail of a variation's agent lines."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.db import Database
from app.events.payloads import EventType
from app.models import Event

EVENTS = Event.__table__  # type: ignore[attr-defined]


async def output_tail(db: Database, run_id: str, variation_id: int, lines: int = 40) -> str:
    """The text of the variation's last `lines` agent lines, oldest first."""
    cols = EVENTS.c
    query = (
        select(cols.payload)
        .where(
            cols.run_id == run_id,
            cols.variation_id == variation_id,
            cols.type == str(EventType.AGENT_OUTPUT),
        )
        .order_by(cols.run_seq.desc())
        .limit(lines)
    )
    async with db.reader() as conn:
        payloads = [row[0] for row in await conn.execute(query)]
    texts = []
    for raw in reversed(payloads):
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        text = line.get("text") if isinstance(line, dict) else None
        if isinstance(text, str) and text.strip():
            texts.append(f"[{line.get('type', 'log')}] {text}")
    return "\n".join(texts)
