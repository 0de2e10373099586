"""The durable log's floor: rows/s a bare batched insert into the real events table reaches.

The same table, indexes and durability settings the server uses, with payloads shaped like
relayed agent lines and no server around. SQLite: WAL, synchronous NORMAL, one BEGIN
IMMEDIATE transaction per batch. PostgreSQL: one transaction per batch, a binary COPY as
the server does, and an executemany INSERT for comparison.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from app.db import Database

BATCH = 1000
_COLUMNS = "(run_id, variation_id, seq, type, payload, run_seq, created_at)"


def _payload(n: int) -> str:
    stamp = time.time_ns()
    return f'{{"variation_id":1,"seq":{n},"type":"log","text":"{stamp} {n}","turn":1}}'


async def sqlite_insert_rate(path: Path, rows: int) -> tuple[float, float]:
    """Rows/s into a fresh SQLite events table, BATCH rows per transaction; and rows per
    CPU-second of this process (which does all of SQLite's work)."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.create_all()
    finally:
        await db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT OR IGNORE INTO events {_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)"
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, rows, BATCH):
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            sql,
            [
                ("floor", 1, n, "agent_output", _payload(n), n + 1, stamp)
                for n in range(first, min(rows, first + BATCH))
            ],
        )
        conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return rows / elapsed, rows / cpu


async def postgres_insert_rate(dsn: str, rows: int, *, copy: bool = False) -> tuple[float, float]:
    """Rows/s into a migrated PostgreSQL events table, BATCH rows per transaction; and rows
    per CPU-second of this client process (PostgreSQL's own CPU is not in it). With `copy`,
    each batch is a binary COPY (the server's own way, app/events/pg_lines.py) instead of
    an executemany INSERT."""
    conn = await asyncpg.connect(dsn)
    sql = (
        f"INSERT INTO events {_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
    )
    columns = _COLUMNS.strip("()").split(", ")
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, rows, BATCH):
            now = datetime.now(UTC)
            batch = [
                ("floor", 1, n, "agent_output", _payload(n), n + 1, now)
                for n in range(first, min(rows, first + BATCH))
            ]
            async with conn.transaction():
                if copy:
                    await conn.copy_records_to_table("events", records=batch, columns=columns)
                else:
                    await conn.executemany(sql, batch)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return rows / elapsed, rows / cpu
    finally:
        await conn.close()
