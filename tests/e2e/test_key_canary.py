"""A canary API key, end to end: it reaches the upstream and nowhere else a user or agent sees."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from app.scripted_model import create_app as scripted_app
from tests.conftest import command_spec
from tests.scripted_model.conftest import serve
from tests.server_process import ServerProcess
from tests.sse_client import collect

pytestmark = pytest.mark.e2e


class KeyRecorder:
    """Wraps the upstream app and records the x-api-key of every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.keys: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            self.keys.append(headers.get(b"x-api-key", b"").decode())
        await self.app(scope, receive, send)


async def test_canary_key_stays_on_the_host(tmp_path: Path, sample_repo: Path) -> None:
    canary = f"sk-ant-canary-{secrets.token_hex(12)}"
    recorder = KeyRecorder(scripted_app())
    snoop = "env; tr '\\0' ' ' < /proc/self/cmdline; echo; cat /proc/1/environ 2>&1 | tr '\\0' ' '"
    with serve(recorder) as upstream:  # type: ignore[arg-type]
        server = ServerProcess(
            tmp_path, backend="local", allow_unsandboxed="false", upstream_url=upstream
        )
        server.env["ANTHROPIC_API_KEY"] = canary
        server.start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                body = {
                    "repo_url": str(sample_repo),
                    "prompt": "Say hello.",
                    "variations": [{"model": "claude-sonnet-4-5"}, command_spec(snoop)],
                }
                res = await client.post("/api/v1/runs", json=body)
                assert res.status_code == 202, res.text
                events = await collect(client, res.json()["stream_url"])
                run = (await client.get(f"/api/v1/runs/{res.json()['run_id']}")).json()
        finally:
            server.stop()
    assert canary in recorder.keys, "the real key did reach the upstream"
    assert run["variations"][0]["usage"]["input_tokens"] > 0, "the agent talked to the model"
    snooped = "\n".join(e.data for e in events if e.event == "agent_output")
    assert "PATH=" in snooped, "the snooping agent did print its environment"
    stream_text = "\n".join(e.data for e in events)
    assert canary not in stream_text, "not in SSE output (nor the agent's env it printed)"
    for path, data in _files(tmp_path):  # the database, its WAL, the server log, workspaces
        assert canary.encode() not in data, f"found in {path.name}"


def _files(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]
