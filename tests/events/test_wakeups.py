"""LISTEN/NOTIFY: a commit by one replica wakes another replica's streams."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert

from app.db import Database
from app.events.hub import EventHub
from app.events.log import EventLog, event_row
from app.events.wakeups import PostgresWakeups, asyncpg_dsn
from app.runs import repository as repo
from tests.events.test_log import _run
from tests.postgres_server import PostgresServer


def test_dsn_drops_the_driver_name() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p@h:5/d") == "postgresql://u:p@h:5/d"


async def test_a_commit_on_one_replica_wakes_the_other(postgres: PostgresServer) -> None:
    url = await postgres.new_database()
    writer_db, reader_db = Database(url), Database(url)
    writer = EventLog(writer_db, on_commit=lambda _ids: None)
    # The poll fallback is an hour: only a notification can wake this hub in time.
    hub = EventHub(reader_db, poll_interval=3600)
    wakeups = PostgresWakeups(url, hub.notify)
    await writer.start()
    await wakeups.start()
    try:
        assert wakeups.listening.is_set()
        await writer.write(statements=[insert(repo.RUNS).values(_run("r").model_dump())])
        tail = await hub.attach("r")
        while tail.last_id is None:  # the first load
            await tail.wait(tail.version, 1)
        for i in range(3):
            seen = tail.version
            await writer.write([event_row("r", "log", {"i": i})])
            await asyncio.wait_for(tail.wait(seen, 3600), 20)
            assert tail.last_id == i + 1
        hub.detach(tail)
    finally:
        await wakeups.close()
        await writer.close()
        await hub.close()
        await writer_db.dispose()
        await reader_db.dispose()
