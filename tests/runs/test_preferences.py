"""Preference records from stored runs: pairs, time filter, paging, diffs on request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from app.db import Database
from app.models import Run, Variation
from app.runs import preferences
from app.runs import repository as repo

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'prefs.db'}")
    await database.create_all()
    yield database
    await database.dispose()


def _run(run_id: str, finished: datetime | None, winner: int | None, by: str | None) -> Run:
    return Run(
        id=run_id,
        repo_url="https://example.invalid/r.git",
        base_sha="a" * 40,
        prompt=f"prompt of {run_id}",
        check_command="make test",
        backend="process",
        status="succeeded" if finished else "running",
        timeout_seconds=60,
        winner_policy="manual",
        created_at=T0,
        finished_at=finished,
        winning_variation_id=winner,
        winner_selected_by=by,
        winner_reason="looks right" if by == "user" else None,
    )


def _variation(run_id: str, vid: int, **values: Any) -> Variation:
    base: dict[str, Any] = {
        "run_id": run_id,
        "variation_id": vid,
        "spec": {"agent": "claude-code", "model": f"m{vid}"},
        "status": "succeeded",
        "diff": f"diff of {vid}\n",
        "files_changed": vid,
        "insertions": vid * 2,
        "deletions": 0,
        "check_exit_code": 0 if vid == 0 else 1,
        "check_output": "",
        "score": 3.0 - vid,
        "cost_usd": 0.01 * (vid + 1),
    }
    return Variation(**(base | values))


async def _store(db: Database, run: Run, n: int) -> None:
    async with db.writer() as conn:
        await conn.execute(insert(repo.RUNS).values(run.model_dump()))
        await conn.execute(
            insert(repo.VARIATIONS).values([_variation(run.id, i).model_dump() for i in range(n)])
        )


async def _all(db: Database, **kwargs: Any) -> list[dict[str, Any]]:
    return [r async for r in preferences.iter_preferences(db, **kwargs)]


async def test_one_record_per_winner_other_pair(db: Database) -> None:
    await _store(db, _run("r1", T0, 1, "user"), 3)
    records = await _all(db)
    assert [(r["chosen"]["variation_id"], r["rejected"]["variation_id"]) for r in records] == [
        (1, 0),
        (1, 2),
    ]
    first = records[0]
    assert first["prompt"] == "prompt of r1" and first["base_sha"] == "a" * 40
    assert first["repo_url"] == "https://example.invalid/r.git"
    assert (first["selected_by"], first["reason"]) == ("user", "looks right")
    assert first["chosen"]["spec"] == {"agent": "claude-code", "model": "m1"}
    assert first["chosen"]["diff_stats"] == {"files": 1, "insertions": 2, "deletions": 0}
    assert first["rejected"]["check_passed"] is True and first["chosen"]["check_passed"] is False
    assert first["chosen"]["score"] == 2.0 and first["rejected"]["score"] == 3.0
    assert "diff" not in first["chosen"]


async def test_runs_without_winner_or_unfinished_give_nothing(db: Database) -> None:
    await _store(db, _run("none", T0, None, None), 3)
    await _store(db, _run("open", None, 0, "user"), 2)
    assert await _all(db) == []


async def test_time_filter_on_finish_time(db: Database) -> None:
    for day in range(4):
        await _store(db, _run(f"d{day}", T0 + timedelta(days=day), 0, "policy"), 2)
    got = await _all(db, since=T0 + timedelta(days=1), until=T0 + timedelta(days=3))
    assert [r["run_id"] for r in got] == ["d1", "d2"]
    assert [r["run_id"] for r in await _all(db, since=T0 + timedelta(days=3))] == ["d3"]


async def test_pages_cover_every_run_once(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preferences, "PAGE_RUNS", 2)
    for i in range(5):
        # Two runs share each finish time: the (time, id) cursor must still not skip any.
        await _store(db, _run(f"r{i}", T0 + timedelta(seconds=i // 2), 0, "policy"), 2)
    assert [r["run_id"] for r in await _all(db)] == ["r0", "r1", "r2", "r3", "r4"]


async def test_diffs_on_request(db: Database) -> None:
    await _store(db, _run("r1", T0, 0, "policy"), 2)
    (record,) = await _all(db, include_diffs=True)
    assert record["chosen"]["diff"] == "diff of 0\n"
    assert record["rejected"]["diff"] == "diff of 1\n"
