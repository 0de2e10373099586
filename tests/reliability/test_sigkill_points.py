"""SIGKILL the server at random points (mid-batch, mid-clone, mid-select), then restart.

Each point runs on SQLite and on PostgreSQL (`store`); the seeds and delays beyond the
first of each kind run on SQLite only, to keep the suite's time in check.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import command_spec
from tests.reliability.harness import Store, StreamLog, processes_with_env, read_until
from tests.server_process import ServerProcess
from tests.sse_client import read_sse

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]
FAST = "i=0; while true; do echo $i; i=$((i+1)); done"


def _spec(marker: str) -> dict[str, object]:
    return command_spec(FAST) | {"env": {"RELIABILITY_MARKER": marker}}


async def _after_restart(tmp_path: Path, store: Store, port: int, run_id: str) -> dict[str, object]:
    server = ServerProcess(tmp_path, port=port, **store.settings).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            run: dict[str, object] = (await client.get(f"/api/v1/runs/{run_id}")).json()
            log = StreamLog()
            await asyncio.wait_for(read_until(client, f"/api/v1/runs/{run_id}/stream", log), 30)
    finally:
        server.stop()
    assert log.complete, "the stream of an interrupted run ends with complete"
    assert log.ids == await store.ids(run_id)
    return run


@pytest.mark.parametrize(
    ("seed", "backend", "store"),
    [
        (1, "process", "sqlite"),
        (2, "process", "sqlite"),
        (3, "local", "sqlite"),
        (1, "process", "postgresql"),
        (3, "local", "postgresql"),
    ],
    indirect=["store"],
)
async def test_kill_mid_batch(
    tmp_path: Path, git_repo: Path, store: Store, seed: int, backend: str
) -> None:
    rng = random.Random(seed)
    marker = uuid.uuid4().hex
    server = ServerProcess(tmp_path, backend=backend, **store.settings).start()
    seen: dict[int, str] = {}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            res = await client.post(
                "/api/v1/runs",
                json={"repo_url": str(git_repo), "prompt": "p", "variations": [_spec(marker)] * 3},
            )
            run_id, url = res.json()["run_id"], res.json()["stream_url"]
            stop_at = rng.randint(200, 3000)
            async with client.stream("GET", url) as response:
                async for event in read_sse(response):
                    assert event.id is not None
                    seen[event.id] = event.data
                    if len(seen) >= stop_at:
                        break
        await asyncio.sleep(rng.uniform(0, 0.3))
        server.kill()
    finally:
        server.stop()
    run = await _after_restart(tmp_path, store, server.port, run_id)
    assert run["status"] == "interrupted"
    stored = {event_id: payload for event_id, _, payload in await store.events(run_id)}
    for event_id, data in seen.items():
        assert stored[event_id] == data, "a line a client saw is still there, unchanged"
    await asyncio.sleep(0.5)
    assert processes_with_env(marker) == [], "no agent process survives the server"


@pytest.mark.parametrize(
    ("delay_ms", "store"),
    [(0, "sqlite"), (60, "sqlite"), (300, "sqlite"), (60, "postgresql")],
    indirect=["store"],
)
async def test_kill_mid_clone(tmp_path: Path, git_repo: Path, store: Store, delay_ms: int) -> None:
    marker = uuid.uuid4().hex
    server = ServerProcess(tmp_path, **store.settings).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            res = await client.post(
                "/api/v1/runs",
                json={"repo_url": str(git_repo), "prompt": "p", "variations": [_spec(marker)] * 3},
            )
            assert res.status_code == 202
            run_id = res.json()["run_id"]
        await asyncio.sleep(delay_ms / 1000)
        server.kill()
    finally:
        server.stop()
    run = await _after_restart(tmp_path, store, server.port, run_id)
    assert run["status"] == "interrupted"
    statuses = {v["status"] for v in run["variations"]}  # type: ignore[attr-defined]
    assert statuses == {"interrupted"}
    await asyncio.sleep(0.5)
    assert processes_with_env(marker) == []


@pytest.mark.parametrize(
    ("delay_ms", "store"),
    [(0, "sqlite"), (3, "sqlite"), (15, "sqlite"), (3, "postgresql")],
    indirect=["store"],
)
async def test_kill_mid_select(tmp_path: Path, git_repo: Path, store: Store, delay_ms: int) -> None:
    server = ServerProcess(tmp_path, **store.settings).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            res = await client.post(
                "/api/v1/runs",
                json={
                    "repo_url": str(git_repo),
                    "prompt": "p",
                    "variations": [command_spec("echo done")] * 2,
                },
            )
            run_id = res.json()["run_id"]
            await read_until(client, f"/api/v1/runs/{run_id}/stream", StreamLog())
            select = asyncio.create_task(
                client.post(f"/api/v1/runs/{run_id}/select", json={"winning_variation_id": 1})
            )
            await asyncio.sleep(delay_ms / 1000)
            server.kill()
            await asyncio.gather(select, return_exceptions=True)
    finally:
        server.stop()
    run = await _after_restart(tmp_path, store, server.port, run_id)
    assert run["status"] == "succeeded"
    winners = [event_id for event_id, type_, _ in await store.events(run_id) if type_ == "winner"]
    # The winner and its event commit together, or neither does.
    assert (run["winning_variation_id"] == 1) == (len(winners) == 1)
    assert run["winning_variation_id"] in (None, 1)
