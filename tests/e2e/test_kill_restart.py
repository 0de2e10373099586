"""SIGKILL the server mid-run, restart it: run interrupted, committed lines replayable."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_command_run
from tests.server_process import ServerProcess
from tests.sse_client import collect, read_sse

pytestmark = pytest.mark.e2e


async def test_sigkill_then_restart(tmp_path: Path, git_repo: Path) -> None:
    pidfile = tmp_path / "agent.pid"
    script = f"echo $$ > {pidfile}; i=0; while true; do echo $i; i=$((i+1)); sleep 0.005; done"
    server = ServerProcess(tmp_path).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            url = (await start_command_run(client, git_repo, script))["stream_url"]
            seen = []
            async with client.stream("GET", url) as response:
                async for event in read_sse(response):
                    seen.append(event)
                    if sum(e.event == "agent_output" for e in seen) >= 200:
                        break
        server.kill()
    finally:
        server.stop()

    restarted = ServerProcess(tmp_path, port=server.port).start()
    try:
        async with httpx.AsyncClient(base_url=restarted.url, timeout=30) as client:
            run = (await client.get(url.removesuffix("/stream"))).json()
            assert run["status"] == "interrupted"
            assert run["variations"][0]["status"] == "interrupted"
            replay = await collect(client, url)
    finally:
        restarted.stop()
    assert replay[-1].event == "complete" and replay[-1].json == {"status": "interrupted"}
    by_id = {e.id: e for e in replay}
    for event in seen:  # everything a client saw before the kill is still there, unchanged
        assert by_id[event.id].data == event.data
    lines = [
        int(e.json["text"]) for e in replay if e.event == "agent_output" and e.json["type"] == "log"
    ]
    seen_lines = [e for e in seen if e.event == "agent_output" and e.json["type"] == "log"]
    assert lines == list(range(len(lines))) and len(lines) >= len(seen_lines) > 150
    # The agent did not outlive the server.
    pid = int(pidfile.read_text())
    assert not _alive(pid), "agent process survived the server"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split(") ", 1)[1][0] != "Z"
