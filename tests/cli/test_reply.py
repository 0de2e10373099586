"""`aideator runs reply RUN N "..."` against a real server: the turn streams, the diff grows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.cli_runner import aideator, sample_copy
from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e

NOTE = 'echo "$AIDEATOR_PROMPT" >> notes.txt; echo "noted: $AIDEATOR_PROMPT"'


@pytest.fixture(scope="module")
def keeping_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that keeps finished runs' workspaces, so they can be continued."""
    srv = ServerProcess(
        tmp_path_factory.mktemp("reply-server"), workspace_retention_seconds="300"
    ).start()
    yield srv
    srv.stop()


def _finished_run(server: ServerProcess, repo: Path) -> str:
    spec = {"agent": "command", "command": ["sh", "-c", NOTE]}
    body = {"repo_url": str(repo), "prompt": "first note", "variations": [spec]}
    run_id: str = httpx.post(f"{server.url}/api/v1/runs", json=body).json()["run_id"]
    for _ in range(300):
        if httpx.get(f"{server.url}/api/v1/runs/{run_id}").json()["status"] == "succeeded":
            return run_id
        time.sleep(0.1)
    raise AssertionError("run did not finish")


def test_reply_streams_the_turn(keeping_server: ServerProcess, tmp_path: Path) -> None:
    run_id = _finished_run(keeping_server, sample_copy(tmp_path / "repo"))
    url = keeping_server.url
    replied = aideator(
        "runs", "reply", run_id[:8], "0", "second note", "--server", url, cwd=tmp_path
    )
    assert replied.returncode == 0, replied.stderr
    assert "turn 2" in replied.stdout
    assert "noted: second note" in replied.stdout, "the turn's lines are shown"
    assert "noted: first note" not in replied.stdout, "earlier turns are not shown again"
    patch = aideator("runs", "diff", run_id, "0", "--server", url, cwd=tmp_path)
    assert "+first note" in patch.stdout and "+second note" in patch.stdout

    refused = aideator("runs", "reply", run_id, "3", "x", "--server", url, cwd=tmp_path)
    assert refused.returncode != 0 and "no variation 3" in refused.stderr
