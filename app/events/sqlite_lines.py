"""SQLite: one batch of agent lines committed in one go, on the event loop's thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) as a separate hop to its
thread, and each hop waits for the event loop to hand over the GIL; a transaction of a
dozen hops was most of a line's latency under load. Lines-only batches (no guarded status
change, no other statement) therefore run as one function: BEGIN IMMEDIATE, take the
numbers, insert, COMMIT — the same statements and locks as the general path.

That function runs on the event loop's own thread, on a connection of its own
(`Database.lines_connection`): on the driver's thread, binding each row's parameters needs
the GIL back from the loop, which was busy reading the next lines, so a batch took two to
three times its CPU time in wall time (measured 20 us per row against 6 us of CPU). A
batch of 1,000 rows holds the loop for a few milliseconds. The connection never waits for
the write lock: when another writer holds it, the batch goes to the driver's thread, which
waits as the general path does.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

from app.db import Database

_BUSY_OR_LOCKED = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes)
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
    db: Database, rows: Sequence[tuple[Any, ...]], stamp: str
) -> tuple[list[int], int]:
    """Insert `rows` (EventRow tuples) numbered per run, in one transaction; returns the
    numbers and how many rows went in (fewer when some were stored before)."""
    direct = db.lines_connection()
    if direct is not None:
        try:
            return _transaction(direct, rows, stamp)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _BUSY_OR_LOCKED:
                raise
            # Another writer holds the write lock: wait for it on the driver's thread.
    async with db.write_engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection  # the aiosqlite connection
        assert driver is not None
        numbers, inserted = await driver._execute(_transaction, driver._conn, rows, stamp)
        return numbers, inserted
