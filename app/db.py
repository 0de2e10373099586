"""Database engines: a write engine that takes SQLite's write lock up front, a read engine.

SQLite runs in WAL mode so readers (SSE streams, GET routes) never block the writer, with a
busy timeout so brief lock contention waits instead of failing. Write transactions start
with `BEGIN IMMEDIATE`, so two writers never deadlock upgrading a read lock.

PostgreSQL's text cannot hold the NUL character (SQLite's can): on PostgreSQL every string
written is stored with NUL replaced by U+FFFD, so a prompt or an agent's stderr that
contains one is stored rather than failing the whole transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from app import models  # noqa: F401  (registers the tables on SQLModel.metadata)

BUSY_TIMEOUT_MS = 30_000
NUL_STAND_IN = "\ufffd"
WAL_TRUNCATE_BYTES = 64 * 1024 * 1024
log = structlog.get_logger()


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def _set_pragmas(dbapi_conn: Any, *, busy_timeout_ms: int, writer: bool) -> None:
    # Let us issue BEGIN ourselves; pysqlite's implicit BEGIN is DEFERRED.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a process crash (SIGKILL); only power loss can roll back
    # the last transactions.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    if writer:
        # Checkpoints (which fsync) run from a background task, not inside a commit of
        # the write path, where they stalled every stream for a moment.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        _set_pragmas(dbapi_conn, busy_timeout_ms=BUSY_TIMEOUT_MS, writer=immediate)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _without_nul(value: Any) -> Any:
    """`value` (a parameter, or a tuple, list or dict of them) with NUL in strings replaced."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_STAND_IN) if "\x00" in value else value
    if isinstance(value, tuple | list):
        return type(value)(_without_nul(v) for v in value)
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    return value


_CONTAINERS = (tuple, list, dict)  # a tuple, not a union: isinstance is faster with it


def _has_nul(value: Any) -> bool:
    """Whether a string in `value` holds NUL (the cheap check on every statement's parameters)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, _CONTAINERS):
        return False
    for item in value:
        if type(item) is str:
            if "\x00" in item:
                return True
        elif isinstance(item, _CONTAINERS) and _has_nul(item):
            return True
    return False


def without_nul(value: Any) -> Any:
    """`value` as PostgreSQL can store it: NUL in its strings replaced (`value` itself, not
    a copy, when it holds none)."""
    return _without_nul(value) if _has_nul(value) else value


def _configure_postgresql(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _no_nul(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        return statement, without_nul(parameters)


class Database:
    """Owns the engines; `writer()` and `reader()` yield connections inside a transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        file = _sqlite_file(url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        self.write_engine = create_async_engine(url, pool_size=4, max_overflow=4)
        self.read_engine = create_async_engine(url, pool_size=8, max_overflow=16)
        self._file = file
        self._lines_conn: sqlite3.Connection | None = None
        if self.is_sqlite:
            _configure_sqlite(self.write_engine, immediate=True)
            _configure_sqlite(self.read_engine, immediate=False)
        else:
            _configure_postgresql(self.write_engine)
            _configure_postgresql(self.read_engine)

    async def create_all(self) -> None:
        """Create missing tables (the schema is small and additive)."""
        async with self.write_engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed on exit."""
        async with self.write_engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction (a consistent snapshot)."""
        async with self.read_engine.connect() as conn:
            yield conn

    async def checkpoint(self, *, truncate: bool = False) -> None:
        """Copy the WAL into the database file (PASSIVE never blocks writers or readers)."""
        if not self.is_sqlite:
            return
        mode = "TRUNCATE" if truncate else "PASSIVE"
        async with self.read_engine.connect() as conn:
            await conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")

    async def run_checkpoints(self, interval: float = 1.0) -> None:
        """Checkpoint every `interval` seconds; truncate the WAL when it grew large."""
        wal = _sqlite_file(self.url)
        wal_path = None if wal is None else wal.with_name(wal.name + "-wal")
        while True:
            await asyncio.sleep(interval)
            try:
                size = wal_path.stat().st_size if wal_path is not None else 0
                await self.checkpoint(truncate=size > WAL_TRUNCATE_BYTES)
            except Exception as exc:  # a busy checkpoint is retried next time
                log.warning("db.checkpoint_failed", error=str(exc))

    async def ping(self) -> None:
        """Check the database is writable (used by /ready)."""
        async with self.writer() as conn:
            await conn.exec_driver_sql("SELECT 1")

    def lines_connection(self) -> sqlite3.Connection | None:
        """SQLite file: a connection for batches of agent lines, used on the event loop's own
        thread (app/events/sqlite_lines.py says why). It never waits for SQLite's write lock
        (busy timeout 0): when another writer holds it, the caller takes the pooled path.
        None for PostgreSQL or an in-memory database."""
        if self._file is None:
            return None
        if self._lines_conn is None:
            conn = sqlite3.connect(self._file, isolation_level=None, check_same_thread=False)
            _set_pragmas(conn, busy_timeout_ms=0, writer=True)
            self._lines_conn = conn
        return self._lines_conn

    async def dispose(self) -> None:
        """Close all pooled connections."""
        if self._lines_conn is not None:
            self._lines_conn.close()
            self._lines_conn = None
        await self.write_engine.dispose()
        await self.read_engine.dispose()
