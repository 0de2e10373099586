"""What the judge's model receives: the task, every variation's diff (fairly cut), its check.

A recording upstream stands in for the model API behind the gateway and answers like the
scripted judge, so the request the model got can be read back whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.config import Settings
from app.gateway.listener import Listener, bind_tcp
from app.judge.prompt import DIFF_BUDGET_CHARS
from app.scripted_model.judge import judge_reply
from app.scripted_model.messages import input_tokens, message_body
from tests.conftest import command_spec, wait_finished

RUNS = "/api/v1/runs"


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def messages(request: Request) -> Response:
        body = json.loads(await request.body())
        received.append({"body": body, "x-api-key": request.headers.get("x-api-key")})
        reply = judge_reply("judge", body)
        return JSONResponse(
            message_body(
                reply, message_id="msg_rec", model=body["model"], input_count=input_tokens(body)
            )
        )

    sock = bind_tcp("127.0.0.1", 0)
    listener = Listener(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]))
    await listener.start([sock])
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", received
    finally:
        await listener.stop()


@pytest.fixture
async def keyed_client(
    tmp_path: Path, upstream: tuple[str, list[dict[str, Any]]]
) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        anthropic_api_key="sk-upstream-canary",
        upstream_url=upstream[0],
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}",
        data_dir=tmp_path / "data",
        backend="process",
        allow_unsandboxed=True,
        allow_local_repos=True,
        log_json=True,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_the_request_holds_every_diff_fairly_cut(
    keyed_client: httpx.AsyncClient,
    upstream: tuple[str, list[dict[str, Any]]],
    git_repo: Path,
) -> None:
    big = DIFF_BUDGET_CHARS  # one variation's diff alone is larger than all shares together
    body = {
        "repo_url": str(git_repo),
        "prompt": "make ok, and keep it small",
        "variations": [
            command_spec("echo marker-zero > ok"),
            command_spec(f"echo marker-one > ok; seq 1 {big // 4} > big.txt"),
            command_spec("echo marker-two > ok; exit 0"),
        ],
        "check_command": "grep -q marker ok && ! test -f big.txt",
        "judge": {"model": "claude-opus-4-5", "instructions": "Prefer the smallest change."},
    }
    res = await keyed_client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run = await wait_finished(keyed_client, res.json()["run_id"], timeout=60)
    assert run["status"] == "succeeded" and run["judge"]["status"] == "ok", run
    _, received = upstream
    assert len(received) == 1, "one judge call"
    request = received[0]
    assert request["x-api-key"] == "sk-upstream-canary"  # the gateway put in the real key
    sent = request["body"]
    assert sent["model"] == "claude-opus-4-5"
    assert sent["tool_choice"] == {"type": "tool", "name": "rank_variations"}
    schema = sent["tools"][0]["input_schema"]
    assert schema["properties"]["ranking"]["items"]["enum"] == [0, 1, 2]
    text = sent["messages"][0]["content"]
    assert "make ok, and keep it small" in text and "Prefer the smallest change." in text
    # Each diff's start is there (variation 1's big file comes first and is cut after it).
    for vid, shown in enumerate(("+marker-zero", "+++ b/big.txt", "+marker-two")):
        assert f"## Variation {vid} " in text
        assert shown in text.split(f"## Variation {vid} ")[1], f"variation {vid}'s diff"
    assert text.count("Check: passed (exit 0)") == 2 and "Check: failed (exit 1)" in text
    share = DIFF_BUDGET_CHARS // 3
    assert f"up to {share:,} characters" in text
    assert f"the limit is {share:,} characters per variation" in text
    assert "more characters of this diff cut" in text
    assert text.count("more characters of this diff cut") == 1, "only the big diff is cut"
    assert len(text) < DIFF_BUDGET_CHARS + 20_000
