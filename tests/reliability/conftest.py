"""The store under test: every reliability test that takes `store` runs on SQLite and on a
real PostgreSQL server (tests/postgres_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer
from tests.reliability.harness import Store


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh database; SQLite is the file a ServerProcess on tmp_path uses by default (the
    server migrates it itself), PostgreSQL a migrated database of the session's cluster."""
    if request.param == "sqlite":
        return Store("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}")
    server: PostgresServer = request.getfixturevalue("postgres")
    return Store("postgresql", await server.new_database())
