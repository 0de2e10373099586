"""Follow-up turns with the real Claude Code in the local sandbox, against the scripted model.

The scenario `fix-then-midrange` answers by the number of assistant messages in the request
it gets: its third step (the midrange Edit) is only reachable when the follow-up's request
carries the first turn's conversation, i.e. when Claude Code resumed its session.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.conftest import wait_finished
from tests.sse_client import collect

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

FIX = "+    return (ordered[middle - 1] + ordered[middle]) / 2"
MIDRANGE = "+def midrange(values):"


class RecordedRequests:
    """ASGI wrapper of the scripted model keeping each POST /v1/messages body it received."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/messages":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append(json.loads(b"".join(chunks)))
            return message

        await self.app(scope, recording, send)


@pytest.fixture
def model_requests(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The request bodies the scripted model gets (its app is wrapped as the server starts)."""
    import app.scripted_model as scripted

    bodies: list[dict[str, Any]] = []
    real = scripted.create_app

    def recorded(*args: Any, **kwargs: Any) -> Any:
        wrapper = RecordedRequests(real(*args, **kwargs))
        wrapper.bodies = bodies
        return wrapper

    monkeypatch.setattr(scripted, "create_app", recorded)
    return bodies


def _texts(message: dict[str, Any]) -> str:
    """All text and tool input of one request message, as one string."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return json.dumps(content)


@pytest.fixture
async def local(
    make_settings: Callable[..., Settings], model_requests: list[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    settings = make_settings(
        backend="local", allow_unsandboxed=False, workspace_retention_seconds=300
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def _first_turn(client: httpx.AsyncClient, repo: Path, **extra: Any) -> dict[str, Any]:
    body = {
        "repo_url": str(repo),
        "prompt": "Fix the failing test.",
        "variations": [{"model": "scripted/fix-then-midrange"}],
        "check_command": "python3 -m unittest -q",
        **extra,
    }
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    return await wait_finished(client, res.json()["run_id"], timeout=180)


async def _second_turn(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    res = await client.post(
        f"/api/v1/runs/{run_id}/variations/0/messages", json={"prompt": "Also add midrange()."}
    )
    assert res.status_code == 202, res.text
    assert res.json()["turn"] == 2
    return await wait_finished(client, run_id, timeout=180)


async def test_follow_up_resumes_the_session(
    local: httpx.AsyncClient, sample_repo: Path, model_requests: list[dict[str, Any]]
) -> None:
    first = await _first_turn(local, sample_repo)
    assert first["status"] == "succeeded", first
    run_id = first["id"]
    diff_url = f"/api/v1/runs/{run_id}/variations/0/diff"
    after_first = (await local.get(diff_url)).text
    assert FIX in after_first and MIDRANGE not in after_first
    v1 = first["variations"][0]
    assert v1["manifest"]["session_id"], "Claude Code's session id is recorded"
    events_before = await collect(local, f"/api/v1/runs/{run_id}/stream")

    second = await _second_turn(local, run_id)
    assert second["status"] == "succeeded", second
    v2 = second["variations"][0]
    after_second = (await local.get(diff_url)).text
    # The midrange Edit is the scenario's third step: the request held turn 1's messages.
    assert FIX in after_second and MIDRANGE in after_second, after_second
    assert v2["check"]["passed"] is True
    assert v2["manifest"]["session_id"] == v1["manifest"]["session_id"]
    assert [t["turn"] for t in v2["manifest"]["turns"]] == [1, 2]
    assert v2["usage"]["input_tokens"] > v1["usage"]["input_tokens"], "usage covers both turns"
    assert v2["cost_usd"] > v1["cost_usd"]
    # The first request of turn 2 the scenario's model got holds turn 1's conversation.
    main = [b for b in model_requests if b.get("model") == "scripted/fix-then-midrange"]
    follow_ups = [b for b in main if "Also add midrange()." in _texts(b["messages"][-1])]
    assert follow_ups, "the follow-up message reached the model"
    earlier = follow_ups[0]["messages"][:-1]
    assert earlier and earlier[0]["role"] == "user"
    assert "Fix the failing test." in _texts(earlier[0]), earlier[0]
    turn_one = "".join(_texts(m) for m in earlier if m["role"] == "assistant")
    assert "Fixing that." in turn_one and "ordered[middle - 1]" in turn_one, turn_one

    events = await collect(local, f"/api/v1/runs/{run_id}/stream")
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "in order, no duplicates"
    assert [e.id for e in events[: len(events_before)]] == [e.id for e in events_before]
    turn_two = events[len(events_before) :]
    lines = [e.json for e in turn_two if e.event == "agent_output"]
    assert lines and all(line["turn"] == 2 for line in lines)
    assert any(line["type"] == "tool_use" for line in lines)
    assert turn_two[-1].event == "complete"
    # Resuming from any id gives exactly the rest.
    for cut in (events_before[-1].id, turn_two[len(turn_two) // 2].id):
        assert cut is not None
        rest = await collect(local, f"/api/v1/runs/{run_id}/stream", last_event_id=cut)
        assert [e.id for e in rest] == [i for i in ids if i is not None and i > cut]


async def test_budget_covers_every_turn(local: httpx.AsyncClient, sample_repo: Path) -> None:
    # Measure what turn 1 costs, then give a run a little more than that: turn 1 fits,
    # turn 2 is stopped by the run's budget after its first model request.
    measured = await _first_turn(local, sample_repo)
    one_turn = measured["variations"][0]["cost_usd"]
    assert one_turn > 0
    first = await _first_turn(local, sample_repo, budget_usd=round(one_turn * 1.25, 6))
    assert first["status"] == "succeeded", first
    second = await _second_turn(local, first["id"])
    variation = second["variations"][0]
    assert variation["status"] == "failed", variation
    error = variation["error"] or ""
    assert error.startswith("turn 2: ") and "budget exhausted" in error, variation
    assert variation["cost_usd"] >= first["budget_usd"]
    events = await collect(local, f"/api/v1/runs/{first['id']}/stream")
    lines = [e.json for e in events if e.event == "agent_output"]
    refusals = [x for x in lines if (x.get("data") or {}).get("code") == "budget_exhausted"]
    assert refusals and all(r["turn"] == 2 for r in refusals), refusals
