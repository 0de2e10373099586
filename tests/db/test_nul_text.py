"""The NUL character: refused in a prompt (an agent's environment cannot carry it), stored
on both stores anywhere else (PostgreSQL's text cannot hold it: there it becomes U+FFFD
instead of failing the transaction, a 500 or an agent's final status lost)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select

from app.db import NUL_STAND_IN, Database
from app.events.hub import read_events
from app.events.log import EventLog, event_row
from app.models import Run, utcnow
from app.runs import repository as repo
from app.schemas.fork import ForkCreate
from app.schemas.reads import FollowUp


def _run(status: str, winner_reason: str | None = None) -> Run:
    return Run(
        id="r1",
        repo_url="x",
        prompt="p",
        backend="process",
        status=status,
        timeout_seconds=60,
        created_at=utcnow(),
        winner_reason=winner_reason,
    )


async def test_text_with_nul_is_stored_on_both_stores(database_url: str) -> None:
    db = Database(database_url)
    try:
        run = _run("succeeded", winner_reason="tie\x00break")
        async with db.writer() as conn:
            await conn.execute(insert(repo.RUNS).values(run.model_dump()))
        async with db.reader() as conn:
            stored = (await conn.execute(select(repo.RUNS.c.winner_reason))).scalar_one()
    finally:
        await db.dispose()
    assert stored == ("tie\x00break" if db.is_sqlite else f"tie{NUL_STAND_IN}break")


async def test_an_event_with_nul_is_stored_on_both_stores(database_url: str) -> None:
    # Events take their own path into PostgreSQL (COPY, past SQLAlchemy's parameter hook).
    db = Database(database_url)
    log = EventLog(db, on_commit=lambda _committed: None)
    await log.start()
    try:
        await log.write(statements=[insert(repo.RUNS).values(_run("running").model_dump())])
        await log.append(event_row("r1", "agent_output", "raw\x00line", variation_id=0, seq=1))
        await log.write([event_row("r1", "log", {"text": "after"})])
        events = await read_events(db, "r1", 0, 10)
    finally:
        await log.close()
        await db.dispose()
    stand_in = "\x00" if db.is_sqlite else NUL_STAND_IN
    assert [(e.id, e.payload) for e in events] == [
        (1, f"raw{stand_in}line"),
        (2, '{"text":"after"}'),
    ]


async def test_a_prompt_with_nul_is_a_422_naming_it(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {"repo_url": str(git_repo), "prompt": "fix\x00it", "variations": 1}
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 422
    assert "prompt" in res.text and "NUL" in res.text


@pytest.mark.parametrize("model", [FollowUp, ForkCreate])
@pytest.mark.parametrize("prompt", ["fix\x00it", "   "])
def test_follow_up_and_fork_prompts_are_held_to_the_same_rule(
    model: type[FollowUp] | type[ForkCreate], prompt: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        model(prompt=prompt)
    assert refused.value.errors()[0]["loc"] == ("prompt",)
    assert model(prompt="fix it").prompt == "fix it"
