"""Another process holds SQLite's write lock 2 s at a time: no user sees "database is locked".

SQLite only: "database is locked" is SQLite's failure mode (one writer per file, a busy
timeout). PostgreSQL has row locks and no file lock to hold; its waits under contention
are what the event-log and ledger tests on PostgreSQL exercise.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import command_spec
from tests.reliability.harness import Store, StreamLog, read_until
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]


def _hold_write_lock(db_file: Path, stop: threading.Event, held: list[float]) -> None:
    conn = sqlite3.connect(db_file, isolation_level=None, timeout=30)
    while not stop.is_set():
        conn.execute("BEGIN IMMEDIATE")
        start = time.monotonic()
        stop.wait(2.0)
        conn.execute("COMMIT")
        held.append(time.monotonic() - start)
        time.sleep(0.2)
    conn.close()


async def test_lock_holder_causes_waits_not_errors(tmp_path: Path, git_repo: Path) -> None:
    server = ServerProcess(tmp_path).start()
    stop = threading.Event()
    held: list[float] = []
    holder = threading.Thread(target=_hold_write_lock, args=(tmp_path / "aideator.db", stop, held))
    script = "for i in $(seq 0 2999); do echo $i; [ $((i % 100)) = 0 ] && sleep 0.1; done; true"
    statuses: list[int] = []
    try:
        holder.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            run_ids = []
            for _ in range(3):  # writes while the lock is held at random moments
                res = await client.post(
                    "/api/v1/runs",
                    json={
                        "repo_url": str(git_repo),
                        "prompt": "p",
                        "variations": [command_spec(script)] * 2,
                    },
                )
                statuses.append(res.status_code)
                run_ids.append(res.json()["run_id"])
                statuses.append((await client.get("/api/v1/runs")).status_code)
                await asyncio.sleep(0.7)
            logs = [StreamLog() for _ in run_ids]
            await asyncio.wait_for(
                asyncio.gather(
                    *(
                        read_until(client, f"/api/v1/runs/{r}/stream", log)
                        for r, log in zip(run_ids, logs, strict=True)
                    )
                ),
                120,
            )
            for r in run_ids:
                run = (await client.get(f"/api/v1/runs/{r}")).json()
                assert run["status"] == "succeeded", run
    finally:
        stop.set()
        holder.join()
        server.stop()
    assert len(held) >= 3 and max(held) >= 1.9, "the lock really was held for ~2 s"
    assert statuses == [202, 200] * 3
    log_text = server.log_path.read_text()
    assert "database is locked" not in log_text
    store = Store("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}")
    for r, log in zip(run_ids, logs, strict=True):
        assert log.complete and log.ids == await store.ids(r)
        payloads = await store.payloads(r)
        for vid in (0, 1):
            lines = [p["text"] for p in payloads if p["variation_id"] == vid and p["type"] == "log"]
            assert lines == [str(i) for i in range(3000)], "no line lost"
