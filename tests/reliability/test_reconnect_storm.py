"""Reconnect storm: 8 variations at 1,000 lines/s in all, 50 clients dropping every 1-5 s."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import httpx
import pytest

from tests.reliability.harness import Store, StreamLog, read_until
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]
EMIT = str(Path(__file__).resolve().parents[2] / "bench" / "emit_lines.py")


async def _storm_client(
    client: httpx.AsyncClient, url: str, rng: random.Random, log: StreamLog
) -> None:
    while not log.complete:
        try:
            await read_until(client, url, log, drop_after=rng.uniform(1, 5))
        except (TimeoutError, httpx.TransportError):
            # Dropped by us, or by the server's send timeout: resume from the last id.
            log.reconnects += 1


async def test_every_client_gets_the_database_sequence(
    tmp_path: Path, git_repo: Path, store: Store
) -> None:
    server = ServerProcess(
        tmp_path,
        max_variations="8",
        max_concurrent_variations="8",
        max_streams_per_client="500",
        **store.settings,
    ).start()
    spec = {"agent": "command", "command": [sys.executable, EMIT, "750", "125"]}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            res = await client.post(
                "/api/v1/runs",
                json={"repo_url": str(git_repo), "prompt": "p", "variations": [spec] * 8},
            )
            run_id, url = res.json()["run_id"], res.json()["stream_url"]
        rng = random.Random(7)
        logs = [StreamLog() for _ in range(50)]
        # One client, one connection per storm client: 50 httpx clients would build 50 TLS
        # contexts, seconds of blocked event loop on a loaded machine, during which every
        # connection's drop timer ran out before it read anything.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
            await asyncio.wait_for(
                asyncio.gather(*(_storm_client(client, url, rng, log) for log in logs)), 180
            )
    finally:
        server.stop()
    truth = await store.ids(run_id)
    assert len(truth) > 6000
    assert sum(log.reconnects for log in logs) >= 50
    for log in logs:
        assert log.ids == truth, "no gap, no duplicate, same order as the database"
