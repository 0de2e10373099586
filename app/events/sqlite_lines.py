"""SQLite: one batch of agent lines committed in a single trip to the driver's thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) as a separate hop to its
thread, and each hop waits for the event loop to hand over the GIL; a transaction of a
dozen hops was most of a line's latency under load. Lines-only batches (no guarded status
change, no other statement) therefore run as one function on that thread: BEGIN IMMEDIATE,
take the numbers, insert, COMMIT — the same statements and locks as the general path.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

# A retried relay batch (same run, variation, seq) inserts nothing twice.
SQLITE_INSERT = (
    "INSERT OR IGNORE INTO events "
    "(run_id, variation_id, seq, type, payload, run_seq, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Taking numbers writes the run's row: SQLite's write lock (BEGIN IMMEDIATE) is held until
# COMMIT, so another writer's later numbers for that run commit after these.
SQLITE_CLAIM = "UPDATE runs SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq"


class UnknownRun(Exception):
    """Events were written for a run that has no row."""


def number_rows(run_ids: Sequence[str], claimed_last: dict[str, int]) -> list[int]:
    """Each row's number, given the last number claimed for each run (rows in order)."""
    counts = Counter(run_ids)
    following = {run: claimed_last[run] - counts[run] + 1 for run in counts}
    numbers = []
    for run_id in run_ids:
        numbers.append(following[run_id])
        following[run_id] += 1
    return numbers


def _transaction(
    conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]], stamp: str
) -> tuple[list[int], int]:
    run_ids = [row[0] for row in rows]
    counts = Counter(run_ids)
    conn.execute("BEGIN IMMEDIATE")
    try:
        last: dict[str, int] = {}
        for run_id in sorted(counts):  # the general path's lock order
            found = conn.execute(SQLITE_CLAIM, (counts[run_id], run_id)).fetchall()
            if not found:
                raise UnknownRun(run_id)
            last[run_id] = int(found[0][0])
        numbers = number_rows(run_ids, last)
        cursor = conn.executemany(
            SQLITE_INSERT, [(*row, n, stamp) for row, n in zip(rows, numbers, strict=True)]
        )
        inserted = cursor.rowcount
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return numbers, inserted


async def commit_lines(
    engine: AsyncEngine, rows: Sequence[tuple[Any, ...]], stamp: str
) -> tuple[list[int], int]:
    """Insert `rows` (EventRow tuples) numbered per run, in one transaction; returns the
    numbers and how many rows went in (fewer when some were stored before)."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection  # the aiosqlite connection
        assert driver is not None
        numbers, inserted = await driver._execute(_transaction, driver._conn, rows, stamp)
        return numbers, inserted
