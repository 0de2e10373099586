"""The hostile agent again, through the Dagger backend's gateway binding (TCP URL + token).

No Dagger engine runs here: the `dagger` CLI is the STAND-IN tests/runners/dagger/
fake_dagger_cli.py, which reads the exact `dagger call` the runner builds (`--gateway`,
`--gateway-path`, `--anthropic-api-key=env://...`) and runs the agent program as the module
would, minus the container. So this proves the runner hands over the gateway's TCP address
and the per-variation token (never the key), and that the gateway holds the variation to
its rules over TCP; the engine's service binding itself is exercised only in the Dagger
workflow.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.config import Settings
from tests.conftest import wait_finished
from tests.scripted_model.conftest import serve
from tests.server_process import free_port
from tests.sse_client import collect

from . import hostile_agent
from .fake_anthropic import FakeAnthropic

STAND_IN = Path(__file__).parents[1] / "runners" / "dagger" / "fake_dagger_cli.py"

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing (dagger checks run in one)"
)


async def test_hostile_agent_through_the_dagger_gateway_binding(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.main import create_app

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dagger").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" "$@"\n')
    (bin_dir / "dagger").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}")
    monkeypatch.setenv("FAKE_DAGGER_MODE", "agent")
    monkeypatch.setenv("FAKE_DAGGER_RECORD", str(tmp_path / "call.json"))
    canary = f"sk-ant-canary-{secrets.token_hex(12)}"
    upstream = FakeAnthropic()
    port = free_port()
    with serve(upstream.app) as upstream_url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            anthropic_api_key=canary,
            upstream_url=upstream_url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}",
            data_dir=tmp_path / "data",
            backend="dagger",
            allow_local_repos=True,
            port=port,
            sse_ping_interval=1.0,
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.02)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                body = {
                    "repo_url": str(git_repo),
                    "prompt": "p",
                    "variations": [hostile_agent.spec()],
                }
                accepted = (await client.post("/api/v1/runs", json=body)).json()
                events = await collect(client, accepted["stream_url"])
                run = await wait_finished(client, accepted["run_id"])
        finally:
            server.should_exit = True
            await task

    hostile_agent.assert_contained(events, run, upstream, canary)
    call = (tmp_path / "call.json").read_text()
    assert "--gateway=tcp://127.0.0.1:" in call, "the gateway went over the TCP binding"
    assert canary not in call, "the real key reached the dagger CLI"
