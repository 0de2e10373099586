"""A follow-up after a server restart: the real server process, the real Claude Code in the
local sandbox, the scripted model. The workspace and Claude Code's session files stay on
disk across the restart while retention keeps them; past retention the next start removes
them and a follow-up is refused with the reason the reads show.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import wait_finished
from tests.server_process import ServerProcess

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

MIDRANGE = "+def midrange(values):"


def _server(data_dir: Path, retention: str) -> ServerProcess:
    return ServerProcess(
        data_dir,
        backend="local",
        allow_unsandboxed="false",
        workspace_retention_seconds=retention,
    ).start()


async def _run(url: str, run_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        res = await client.get(f"/api/v1/runs/{run_id}")
        assert res.status_code == 200, res.text
        body: dict[str, Any] = res.json()
        return body


async def test_follow_up_after_restart_and_refused_after_eviction(
    tmp_path: Path, sample_repo: Path
) -> None:
    server = _server(tmp_path, "3600")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            res = await client.post(
                "/api/v1/runs",
                json={
                    "repo_url": str(sample_repo),
                    "prompt": "Fix the failing test.",
                    "variations": [{"model": "scripted/fix-then-midrange"}],
                    "check_command": "python3 -m unittest -q",
                },
            )
            assert res.status_code == 202, res.text
            first = await wait_finished(client, res.json()["run_id"], timeout=240)
        assert first["status"] == "succeeded", first
    finally:
        server.stop()
    run_id = first["id"]
    until = datetime.fromisoformat(first["finished_at"]) + timedelta(seconds=3600)

    server = _server(tmp_path, "3600")  # the restart
    try:
        kept = (await _run(server.url, run_id))["variations"][0]
        assert kept["continuable"] is True, kept
        assert datetime.fromisoformat(kept["continuable_until"]) == until
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            res = await client.post(
                f"/api/v1/runs/{run_id}/variations/0/messages",
                json={"prompt": "Also add midrange()."},
            )
            assert res.status_code == 202, res.text
            second = await wait_finished(client, run_id, timeout=240)
            diff = (await client.get(f"/api/v1/runs/{run_id}/variations/0/diff")).text
        variation = second["variations"][0]
        assert second["status"] == "succeeded", second
        # The midrange Edit is the scenario's step after turn 1's conversation: Claude Code
        # resumed its session from the files that survived the restart.
        assert MIDRANGE in diff, diff
        assert (
            variation["manifest"]["session_id"] == first["variations"][0]["manifest"]["session_id"]
        )
        assert variation["turn"] == 2
    finally:
        server.stop()

    # Restarted with a retention that has already run out: the start removes the workspace.
    server = _server(tmp_path, "0.01")
    try:
        gone = (await _run(server.url, run_id))["variations"][0]
        assert gone["continuable"] is False and gone["continuable_until"] is None
        assert "workspace is gone" in gone["continuable_reason"], gone
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            res = await client.post(
                f"/api/v1/runs/{run_id}/variations/0/messages", json={"prompt": "More."}
            )
        assert res.status_code == 409, res.text
        assert res.json()["error"]["message"] == gone["continuable_reason"]
    finally:
        server.stop()
