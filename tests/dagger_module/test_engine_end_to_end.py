"""DaggerRunner + the module on a REAL Dagger engine: skipped unless RUN_DAGGER_ENGINE_TESTS=1.

No engine can run where this project is developed, so this file is skipped there and runs
in .github/workflows/dagger.yml. It drives the server's own code path: the runner builds
`dagger call ... stream-agent ... result` with the scripted model as `--gateway
tcp://127.0.0.1:N`, a relay sink as `--relay tcp://127.0.0.1:M` and both tokens passed by
name; the real Claude Code binary edits the sample repository inside the agent container.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from dagger_chain import REPO_ROOT
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.runners.base import AgentExit, AgentSpec, VariationJob
from app.runners.dagger import DaggerRunner
from app.scripted_model import create_app

pytestmark = pytest.mark.skipif(
    os.environ.get("RUN_DAGGER_ENGINE_TESTS") != "1",
    reason="needs a Dagger engine; set RUN_DAGGER_ENGINE_TESTS=1 (the dagger workflow does)",
)

RELAY_TOKEN = "relay-token-e2e"
GATEWAY_TOKEN = "scripted-placeholder-key"


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run app on uvicorn in a thread on 127.0.0.1; yield its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def relay_sink(received: list[dict[str, Any]]) -> Starlette:
    """A stand-in for the server's ingest endpoint that records what arrives."""

    async def ingest(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {RELAY_TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = (await request.body()).decode()
        received.extend(json.loads(line) for line in body.splitlines() if line.strip())
        return JSONResponse({"accepted": True})

    path = "/api/v1/internal/runs/{run_id}/variations/{n}/events"
    return Starlette(routes=[Route(path, ingest, methods=["POST"])])


def sample_repo(root: Path) -> tuple[Path, str]:
    """A committed copy of examples/sample-repo; its path and head commit."""
    shutil.copytree(REPO_ROOT / "examples" / "sample-repo", root)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return root, head.stdout.strip()


async def test_one_variation_through_the_real_engine(tmp_path: Path) -> None:
    runner = DaggerRunner()
    availability = await runner.availability()
    assert availability.ok, availability.detail
    repo, sha = sample_repo(tmp_path / "repo")
    received: list[dict[str, Any]] = []
    with serve(create_app()) as model_url, serve(relay_sink(received)) as relay_url:
        job = VariationJob(
            run_id="e2e",
            variation_id=0,
            prompt="The median test fails for even-length lists. Fix numstats.",
            spec=AgentSpec(agent="claude-code", model="scripted/fix-correct", max_turns=10),
            workspace=repo,
            repo_url=str(repo),
            base_sha=sha,
            timeout_seconds=1200,
            gateway_url=model_url,
            gateway_token=GATEWAY_TOKEN,
            relay_url=f"{relay_url}/api/v1/internal/runs/e2e/variations/0/events",
            relay_token=RELAY_TOKEN,
        )
        items = [item async for item in runner.run(job)]
    assert len(items) == 1 and isinstance(items[0], AgentExit)
    done = items[0]
    assert done.error is None and done.exit_code == 0, done.debug_log
    assert done.final_result is not None
    assert "ordered[middle - 1]" in done.final_result["diff"]
    assert done.final_result["diff_stats"]["files"] == 1
    # Live lines came through the relay: every seq from 0, the last one the result
    # (a retried batch may repeat lines; the server de-duplicates by seq).
    by_seq = {line["seq"]: line for line in received}
    assert sorted(by_seq) == list(range(len(by_seq)))
    assert by_seq[max(by_seq)]["type"] == "result"
    assert any(line["type"] == "tool_use" for line in by_seq.values())
    assert GATEWAY_TOKEN not in (done.debug_log or "")
