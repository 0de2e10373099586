"""Migrations: one history for both stores, matching the models; unknown schemas refused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from app import schema
from app.config import Settings
from app.db import Database
from tests.postgres_server import PostgresServer


def _differences(conn: object) -> list[object]:
    context = MigrationContext.configure(conn)  # type: ignore[arg-type]
    return list(compare_metadata(context, SQLModel.metadata))


class TestMigrations:
    async def test_migrated_schema_is_the_models_schema(self, database_url: str) -> None:
        db = Database(database_url)
        try:
            state = await schema.upgrade(db)
            assert state.current == schema.head_revision()
            async with db.reader() as conn:
                assert await conn.run_sync(_differences) == []
        finally:
            await db.dispose()

    async def test_upgrade_is_idempotent(self, database_url: str) -> None:
        db = Database(database_url)
        try:
            first = await schema.upgrade(db)
            second = await schema.upgrade(db)
            assert first == second and second.up_to_date
        finally:
            await db.dispose()

    async def test_empty_postgres_is_refused_until_upgraded(self, postgres: PostgresServer) -> None:
        db = Database(await postgres.new_database(migrated=False))
        try:
            with pytest.raises(schema.SchemaMismatch, match="aideator db upgrade"):
                await schema.prepare(db, auto_upgrade=False)
            await schema.upgrade(db)
            assert (await schema.prepare(db, auto_upgrade=False)).up_to_date
        finally:
            await db.dispose()

    async def test_unknown_revision_is_refused(self, database_url: str) -> None:
        db = Database(database_url)
        try:
            await schema.upgrade(db)
            async with db.writer() as conn:
                await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
            for auto in (True, False):
                with pytest.raises(schema.SchemaMismatch, match=r"9999.*does not know"):
                    await schema.prepare(db, auto_upgrade=auto)
            with pytest.raises(schema.SchemaMismatch):
                await schema.upgrade(db)
        finally:
            await db.dispose()


class TestEmbeddedSqlite:
    async def test_database_from_before_migrations_is_adopted(self, tmp_path: Path) -> None:
        path = tmp_path / "old.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            # What releases before migrations created: the baseline tables, no revision.
            await schema.upgrade(db, "0001")
            async with db.writer() as conn:
                await conn.execute(text("DROP TABLE alembic_version"))
                await conn.execute(
                    text(
                        "INSERT INTO runs (id, repo_url, prompt, backend, status, "
                        "timeout_seconds, winner_policy, scripted_model, created_at) "
                        "VALUES ('r', 'x', 'p', 'process', 'succeeded', 1, 'manual', 0, "
                        "'2026-01-01 00:00:00')"
                    )
                )
                for _ in range(3):
                    await conn.execute(
                        text(
                            "INSERT INTO events (run_id, type, payload, created_at) "
                            "VALUES ('r', 'log', '{}', '2026-01-01 00:00:00')"
                        )
                    )
            assert (await schema.read_state(db)).legacy
            assert (await schema.prepare(db, auto_upgrade=True)).up_to_date
        finally:
            await db.dispose()
        with sqlite3.connect(path) as conn:
            # Old event ids stay valid cursors: each event keeps its id as its number.
            assert conn.execute("SELECT id, run_seq FROM events").fetchall() == [
                (1, 1),
                (2, 2),
                (3, 3),
            ]
            assert conn.execute("SELECT event_seq FROM runs").fetchone() == (3,)

    async def test_server_upgrades_its_sqlite_database(
        self, make_settings: Callable[..., Settings]
    ) -> None:
        from app.main import create_app

        app = create_app(make_settings())
        async with app.router.lifespan_context(app):
            db: Database = app.state.services.db
            assert (await schema.read_state(db)).up_to_date


class TestServerStart:
    async def test_server_refuses_an_unmigrated_postgres(
        self, postgres: PostgresServer, make_settings: Callable[..., Settings]
    ) -> None:
        from app.main import create_app

        app = create_app(make_settings(database_url=await postgres.new_database(migrated=False)))
        with pytest.raises(schema.SchemaMismatch, match="aideator db upgrade"):
            async with app.router.lifespan_context(app):
                pass


def test_cli_db_upgrade_then_status(tmp_path: Path) -> None:
    env = {"AIDEATOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "PATH": ""}

    def aideator(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=True,
        )
        return done.stdout

    assert "run `aideator db upgrade`" in aideator("db", "status")
    assert f"to {schema.head_revision()}" in aideator("db", "upgrade")
    assert "(head)" in aideator("db", "status")
