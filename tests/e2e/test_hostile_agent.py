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
from tests.gateway.fake_anthropic import FakeAnthropic
from tests.runners.local.test_local_support import needs_bwrap
from tests.scripted_model.conftest import serve
from tests.server_process import ServerProcess
from tests.sse_client import collect

pytestmark = [pytest.mark.e2e, needs_bwrap]

OWN_MODEL = "claude-sonnet-4-5"
# Each attempt: method, path, JSON body (or None). The last one is the variation's own call.
HOSTILE = r"""
import json, os, urllib.request, urllib.error
base, key = os.environ["ANTHROPIC_BASE_URL"], os.environ["ANTHROPIC_API_KEY"]
def body(model="claude-sonnet-4-5", max_tokens=1024):
    return {"model": model, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": "hi"}]}
attempts = [
    ("GET", "/v1/files", None),
    ("DELETE", "/v1/files/x", None),
    ("POST", "/v1/complete", {"prompt": "x", "model": "claude-2"}),
    ("PUT", "/v1/messages", body()),
    ("POST", "/v1/messages", body(model="claude-opus-4-5")),
    ("POST", "/v1/messages", body(max_tokens=10_000_000)),
    ("POST", "/v1/messages", body()),
]
for method, path, payload in attempts:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01"})
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            status = reply.status
    except urllib.error.HTTPError as error:
        status = error.code
    print("attempt", method, path, status, flush=True)
"""


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
                "variations": [
                    {
                        "agent": "command",
                        "model": OWN_MODEL,
                        "command": ["python3", "-c", HOSTILE],
                    }
                ],
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
        server.start()
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

    texts = [json.loads(e.data).get("text") or "" for e in events if e.event == "agent_output"]
    statuses = [text.split()[-1] for text in texts if text.startswith("attempt ")]
    assert statuses == ["403"] * 6 + ["200"], texts

    refusals = [json.loads(e.data) for e in events if e.event == "gateway_refusal"]
    assert [(r["method"], r["path"], r["rule"]) for r in refusals] == [
        ("GET", "/v1/files", "endpoint"),
        ("DELETE", "/v1/files/x", "endpoint"),
        ("POST", "/v1/complete", "endpoint"),
        ("PUT", "/v1/messages", "endpoint"),
        ("POST", "/v1/messages", "model"),
        ("POST", "/v1/messages", "max_tokens"),
    ]
    assert all(r["variation_id"] == 0 and r["status"] == 403 for r in refusals)

    # Only the variation's own-model request reached the upstream, with the real key.
    assert [(s.method, s.path) for s in upstream.seen] == [("POST", "/v1/messages")]
    assert dict(upstream.seen[0].headers)["x-api-key"] == canary
    assert json.loads(upstream.seen[0].body)["model"] == OWN_MODEL

    manifest = run["variations"][0]["manifest"]
    assert manifest["models_used"] == {OWN_MODEL: 1}
    assert manifest["gateway_refusals"] == {"endpoint": 4, "model": 1, "max_tokens": 1}

    # The CLI watching the run shows every refusal on the variation's lines.
    shown = [line for line in cli.stdout.splitlines() if "gateway refused" in line]
    assert len(shown) == 6, cli.stdout + cli.stderr
    assert any("GET /v1/files is not allowed" in line for line in shown)
    assert canary not in cli.stdout + cli.stderr
