"""Two server replicas on one PostgreSQL database, over real HTTP.

A run created on A streams from B with every line once; resuming on B at random ids is
exact; after A is SIGKILLed mid-run, B marks A's run and variations `interrupted` once
A's lease ran out, and every event a client saw is still stored.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import command_spec
from tests.postgres_server import PostgresServer
from tests.server_process import ServerProcess
from tests.sse_client import SSE, collect, read_sse

pytestmark = pytest.mark.e2e
LEASE_SECONDS = 2
LINES = 300


@pytest.fixture
async def replicas(
    postgres: PostgresServer, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    url = await postgres.new_database()
    settings = {"database_url": url, "lease_seconds": str(LEASE_SECONDS)}
    a = ServerProcess(tmp_path / "a", replica_id="a", **settings).start()
    b = ServerProcess(tmp_path / "b", replica_id="b", **settings).start()
    yield a, b
    a.stop()
    b.stop()


def _paced(lines: int) -> dict[str, object]:
    # A few hundred lines over a second or more: relayed while the other replica streams.
    return command_spec(f"for i in $(seq 1 {lines}); do echo $i; sleep 0.004; done")


def _lines(events: list[SSE], vid: int) -> list[str]:
    return [
        e.json["text"]
        for e in events
        if e.event == "agent_output" and e.json["variation_id"] == vid and e.json["type"] == "log"
    ]


async def test_run_on_a_streams_from_b_exactly(
    replicas: tuple[ServerProcess, ServerProcess], git_repo: Path
) -> None:
    a, b = replicas
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        body = {"repo_url": str(git_repo), "prompt": "count", "variations": [_paced(LINES)] * 2}
        res = await on_a.post("/api/v1/runs", json=body)
        assert res.status_code == 202, res.text
        url = res.json()["stream_url"]
        full = await collect(on_b, url)  # live from the replica that does not run it
        ids = [e.id for e in full]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert full[-1].event == "complete" and full[-1].json["status"] == "succeeded"
        for vid in (0, 1):
            assert _lines(full, vid) == [str(i) for i in range(1, LINES + 1)]
        rng = random.Random(7)
        for cursor in rng.sample([i for i in ids[:-1] if i is not None], 6):
            resumed = await collect(on_b, url, last_event_id=cursor)
            assert [e.data for e in resumed] == [e.data for e in full if e.id and e.id > cursor]


async def test_b_interrupts_the_runs_of_a_killed_a(
    replicas: tuple[ServerProcess, ServerProcess], git_repo: Path
) -> None:
    a, b = replicas
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        body = {"repo_url": str(git_repo), "prompt": "p", "variations": [_paced(100_000)] * 2}
        res = await on_a.post("/api/v1/runs", json=body)
        assert res.status_code == 202, res.text
        run_id, url = res.json()["run_id"], res.json()["stream_url"]
        seen: list[SSE] = []
        async with on_b.stream("GET", url) as response:
            async for event in read_sse(response):
                seen.append(event)
                if len(_lines(seen, 0)) >= 50 and len(_lines(seen, 1)) >= 50:
                    break
        a.kill()
        killed = time.monotonic()
        while True:
            run = (await on_b.get(f"/api/v1/runs/{run_id}")).json()
            if run["status"] != "running":
                break
            assert time.monotonic() - killed < 60, "B never took over A's run"
            await asyncio.sleep(0.2)
        took = time.monotonic() - killed
        assert run["status"] == "interrupted"
        assert [v["status"] for v in run["variations"]] == ["interrupted", "interrupted"]
        assert "replica a stopped renewing its lease" in (run.get("error") or "")
        replay = await collect(on_b, url)  # ends: the run is finished
        assert replay[-1].event == "complete"
        stored = {e.id: e.data for e in replay}
        assert all(stored.get(e.id) == e.data for e in seen), "nothing a client saw is lost"
        print(f"interrupted by B {took:.1f} s after SIGKILL (lease {LEASE_SECONDS} s)")
