"""The event log on both stores: per-run numbers in commit order, idempotent lines."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from app.db import Database
from app.events.hub import read_events
from app.events.log import POSTGRES_BATCH_MAX, SQLITE_BATCH_MAX, EventLog, event_row
from app.models import Event, Run, utcnow
from app.runs import repository as repo

EVENTS = Event.__table__  # type: ignore[attr-defined]


def _run(run_id: str) -> Run:
    return Run(
        id=run_id,
        repo_url="x",
        prompt="p",
        backend="process",
        status="queued",
        timeout_seconds=1,
        created_at=utcnow(),
    )


async def _open(url: str, *run_ids: str) -> tuple[Database, EventLog]:
    db = Database(url)
    log = EventLog(db, on_commit=lambda _ids: None)
    await log.start()
    if run_ids:
        await log.write(
            statements=[insert(repo.RUNS).values(_run(r).model_dump()) for r in run_ids]
        )
    return db, log


async def _close(db: Database, log: EventLog) -> None:
    await log.close()
    await db.dispose()


async def _numbers(db: Database, run_id: str) -> list[int]:
    query = select(EVENTS.c.run_seq).where(EVENTS.c.run_id == run_id).order_by(EVENTS.c.id)
    async with db.reader() as conn:
        return [r[0] for r in await conn.execute(query)]


class TestNumbering:
    async def test_each_run_counts_from_one_in_write_order(self, database_url: str) -> None:
        db, log = await _open(database_url, "a", "b")
        try:
            for i in range(5):
                await log.append(event_row("a", "log", {"i": i}))
                await log.append(event_row("b", "log", {"i": i}))
            await log.write([event_row("a", "log", {"i": 5})])
            assert await _numbers(db, "a") == [1, 2, 3, 4, 5, 6]
            assert await _numbers(db, "b") == [1, 2, 3, 4, 5]
            replay = await read_events(db, "a", 2, 10)
            assert [e.id for e in replay] == [3, 4, 5, 6]
            assert replay[0].payload == '{"i":2}'
        finally:
            await _close(db, log)

    async def test_retried_lines_are_stored_once(self, database_url: str) -> None:
        db, log = await _open(database_url, "r")
        try:
            batch = [
                event_row("r", "agent_output", {"n": s}, variation_id=0, seq=s) for s in (1, 2)
            ]
            assert await log.write(batch)
            assert await log.write(
                [*batch, event_row("r", "agent_output", {}, variation_id=0, seq=3)]
            )
            async with db.reader() as conn:
                seqs = (await conn.execute(select(EVENTS.c.seq).order_by(EVENTS.c.id))).all()
            assert [s[0] for s in seqs] == [1, 2, 3]
        finally:
            await _close(db, log)

    async def test_events_of_an_unknown_run_fail_alone(self, database_url: str) -> None:
        db, log = await _open(database_url, "r")
        try:
            bad = asyncio.ensure_future(log.write([event_row("ghost", "log", {})]))
            good = asyncio.ensure_future(log.write([event_row("r", "log", {})]))
            with pytest.raises(RuntimeError):
                await bad
            assert await good
            assert await _numbers(db, "r") == [1]
        finally:
            await _close(db, log)


async def test_two_writers_a_resuming_reader_never_skips(database_url: str) -> None:
    """Two processes' logs (two engines) write one run while a reader resumes by number."""
    per_writer = 150
    db_a, log_a = await _open(database_url, "r")
    db_b, log_b = await _open(database_url)
    reader = Database(database_url)
    seen: list[int] = []
    done = asyncio.Event()

    async def write(log: EventLog, name: str) -> None:
        for i in range(per_writer):
            await log.write([event_row("r", "log", {"w": name, "i": i})])

    async def read() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            page = await read_events(reader, "r", cursor, 1000)
            seen.extend(e.id for e in page)
            if page:
                cursor = page[-1].id
            elif finished:
                return
            await asyncio.sleep(0)

    try:
        reading = asyncio.create_task(read())
        await asyncio.gather(write(log_a, "a"), write(log_b, "b"))
        done.set()
        await reading
        assert seen == list(range(1, 2 * per_writer + 1)), "every number once, in order"
    finally:
        await _close(db_a, log_a)
        await _close(db_b, log_b)
        await reader.dispose()


async def test_sqlite_lines_wait_for_a_writer_holding_the_lock(tmp_path: Path) -> None:
    """Lines commit on the loop's own connection, which never waits for the write lock:
    while another connection holds it they go through the driver's thread, which waits."""
    from app import schema

    url = f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}"
    db = Database(url)
    await schema.upgrade(db)
    log = EventLog(db, on_commit=lambda _ids: None)
    await log.start()
    await log.write(statements=[insert(repo.RUNS).values(_run("r").model_dump())])

    async def committed(count: int) -> list[int]:
        for _ in range(500):
            numbers = await _numbers(db, "r")
            if len(numbers) >= count:
                return numbers
            await asyncio.sleep(0.01)
        return await _numbers(db, "r")

    holder = sqlite3.connect(tmp_path / "aideator.db", isolation_level=None)
    try:
        await log.append(event_row("r", "agent_output", {"n": 1}, variation_id=0, seq=1))
        assert await committed(1) == [1]
        direct = db.lines_connection()
        assert direct is not None and not direct.in_transaction
        # The line went in through the loop's connection (its claim and its insert).
        assert direct.total_changes == 2
        holder.execute("BEGIN IMMEDIATE")
        await log.append(event_row("r", "agent_output", {"n": 2}, variation_id=0, seq=2))
        await asyncio.sleep(0.3)
        assert await _numbers(db, "r") == [1], "committed while another writer held the lock"
        holder.execute("COMMIT")
        assert await committed(2) == [1, 2]
        assert direct.total_changes == 2, "the locked batch went through the driver's thread"
    finally:
        holder.close()
        await _close(db, log)


async def test_a_transaction_begins_one_interval_after_its_first_line(database_url: str) -> None:
    """Group commit: the wait counts from the first line queued for a transaction, so a line
    queued while the previous batch commits does not wait for that commit and then a whole
    interval more."""
    interval, slow_commit = 0.5, 0.4
    db, log = await _open(database_url, "r")
    log._flush_interval = interval
    begun: list[float] = []
    first_begun, second_begun = asyncio.Event(), asyncio.Event()
    commit_once = log._commit_once

    async def slow_first(batch: list[Any], *, copy: bool) -> None:
        begun.append(time.monotonic())
        if len(begun) == 1:
            first_begun.set()
            await asyncio.sleep(slow_commit)
        else:
            second_begun.set()
        await commit_once(batch, copy=copy)

    log._commit_once = slow_first  # type: ignore[method-assign]
    try:
        await log.append(event_row("r", "agent_output", {"n": 1}, variation_id=0, seq=1))
        await first_begun.wait()
        await asyncio.sleep(slow_commit / 2)  # the first batch is still committing
        queued = time.monotonic()
        await log.append(event_row("r", "agent_output", {"n": 2}, variation_id=0, seq=2))
        await second_begun.wait()
        waited = begun[1] - queued
        # One interval (0.5 s) after it was queued; counted from the end of the first commit
        # it would be 0.2 s + 0.5 s.
        assert interval - 0.05 <= waited < interval + slow_commit / 4
        await log.close()  # the second batch's commit ends
        assert await _numbers(db, "r") == [1, 2]
    finally:
        await _close(db, log)


async def test_the_batch_cap_follows_the_store_unless_set(database_url: str) -> None:
    db = Database(database_url)
    try:
        default = EventLog(db, on_commit=lambda _committed: None)._batch_max
        assert default == (SQLITE_BATCH_MAX if db.is_sqlite else POSTGRES_BATCH_MAX)
        assert EventLog(db, on_commit=lambda _committed: None, batch_max=7)._batch_max == 7
    finally:
        await db.dispose()
