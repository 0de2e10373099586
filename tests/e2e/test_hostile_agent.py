"""A hostile `command` agent in the local sandbox tries the key's other powers; none get out.

A real server (local backend: bubblewrap), a canary API key and a recording upstream; the
run is started and watched with the `aideator` CLI, then its stream and manifest are read.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx
import pytest

from tests.cli.cli_runner import aideator, clean_env
from tests.gateway import hostile_agent
from tests.gateway.fake_anthropic import FakeAnthropic
from tests.runners.local.test_local_support import needs_bwrap
from tests.scripted_model.conftest import serve
from tests.server_process import ServerProcess
from tests.sse_client import collect

pytestmark = [pytest.mark.e2e, needs_bwrap]


async def test_hostile_command_agent_reaches_only_its_own_model(
    tmp_path: Path, sample_repo: Path
) -> None:
    canary = f"sk-ant-canary-{secrets.token_hex(12)}"
    upstream = FakeAnthropic()
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "repo_url": str(sample_repo),
                "prompt": "Do as the README says.",
                "variations": [hostile_agent.spec()],
            }
        )
    )
    with serve(upstream.app) as upstream_url:
        server = ServerProcess(
            tmp_path / "server",
            backend="local",
            allow_unsandboxed="false",
            upstream_url=upstream_url,
        )
        server.env["ANTHROPIC_API_KEY"] = canary
        server.start(timeout=120)  # a local-backend server starts slowly on a busy machine
        try:
            cli = await asyncio.to_thread(
                aideator,
                "run",
                "--server",
                server.url,
                "--spec",
                str(spec),
                cwd=tmp_path,
                env=clean_env(COLUMNS="200"),
            )
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                runs = (await client.get("/api/v1/runs")).json()
                run_id = runs["items"][0]["id"]
                events = await collect(client, f"/api/v1/runs/{run_id}/stream")
                run = (await client.get(f"/api/v1/runs/{run_id}")).json()
        finally:
            server.stop()

    hostile_agent.assert_contained(events, run, upstream, canary)

    # The CLI watching the run shows every refusal on the variation's lines.
    shown = [line for line in cli.stdout.splitlines() if "gateway refused" in line]
    assert len(shown) == 6, cli.stdout + cli.stderr
    assert any("GET /v1/files is not allowed" in line for line in shown)
    assert canary not in cli.stdout + cli.stderr
