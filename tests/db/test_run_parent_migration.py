"""Migration 0010 (fork lineage): runs stored before it read back with no parent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from app import schema
from app.db import Database
from app.runs import repository as repo
from app.runs.views import run_summary
from tests.postgres_server import PostgresServer

INSERT = text(
    "INSERT INTO runs (id, repo_url, prompt, backend, status, timeout_seconds, winner_policy, "
    "scripted_model, created_at, setup) VALUES ('old-run', 'https://example.invalid/r.git', "
    "'p', 'local', 'succeeded', 60, 'manual', :false, :created, '{}')"
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each store."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return await server.new_database(migrated=False)


async def test_a_run_from_before_forks_has_no_parent(unmigrated_url: str) -> None:
    db = Database(unmigrated_url)
    try:
        assert (await schema.upgrade(db, "0009")).current == "0009"
        async with db.writer() as conn:
            await conn.execute(INSERT, {"false": False, "created": datetime.now(UTC)})
        assert (await schema.upgrade(db)).up_to_date
        run = await repo.get_run(db, "old-run")
        assert run is not None and run.parent is None and run.parent_diff is None
        assert run_summary(run, 0, 0.0, 0).parent is None
        lineage = {"run_id": "p", "variation_id": 2, "diff_sha256": "ab" * 32}
        async with db.writer() as conn:
            await conn.execute(repo.set_run("old-run", parent=lineage, parent_diff="diff --git"))
        again = await repo.get_run(db, "old-run")
        assert again is not None and again.parent == lineage and again.parent_diff == "diff --git"
    finally:
        await db.dispose()
