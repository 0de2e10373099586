"""SIGTERM under load: every open stream gets the final events, the process exits in time."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_command_run
from tests.reliability.harness import Store
from tests.server_process import ServerProcess
from tests.sse_client import SSE, read_sse

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]


async def _follow(base: str, url: str, started: asyncio.Event, out: list[SSE]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        async with client.stream("GET", url) as response:
            async for event in read_sse(response):
                out.append(event)
                if event.event == "agent_output":
                    started.set()
                if event.event == "complete":
                    return


async def test_sigterm_ends_streams_with_final_events(
    tmp_path: Path, git_repo: Path, store: Store
) -> None:
    server = ServerProcess(tmp_path, cancel_grace_seconds="2", **store.settings).start()
    script = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.002; done"
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            url = (await start_command_run(client, git_repo, *[script] * 4))["stream_url"]
        streams: list[list[SSE]] = [[] for _ in range(6)]
        started = asyncio.Event()
        tasks = [asyncio.create_task(_follow(server.url, url, started, out)) for out in streams]
        await asyncio.wait_for(started.wait(), 20)
        await asyncio.sleep(0.5)
        assert server.proc is not None
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*tasks), 20)
        code = await asyncio.to_thread(server.proc.wait, 20)
        elapsed = time.monotonic() - t0
    finally:
        server.stop()
    # uvicorn re-raises the signal once its graceful shutdown is done.
    assert code in (0, -signal.SIGTERM)
    assert elapsed < 2 + 5 + 5, f"exit took {elapsed:.1f} s"
    for events in streams:
        assert events[-1].event == "complete", "every client gets the final event"
        assert events[-1].json["status"] == "interrupted"
        finals = [e.json["status"] for e in events if e.event == "variation_status"]
        assert finals.count("interrupted") == 4
