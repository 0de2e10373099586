"""Synthesis with the real Claude Code in the local sandbox, against a recording scripted model.

Three variations (two correct fixes, one bad one) are ranked by the policy; the synthesized
variation's first model request must carry the task and the two best diffs (and not the
third), and its own diff and check are recorded with its lineage.
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

PROMPT = "Fix the failing test."
SYNTH_MODEL = "scripted/synthesize-median"


class RecordingApp:
    """Wraps the scripted model: keeps every request body it receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        if scope["path"] == "/v1/messages" and raw:
            self.bodies.append(json.loads(raw))
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app(scope, replay, send)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The request bodies the server's scripted model receives."""
    import app.scripted_model as scripted

    bodies: list[dict[str, Any]] = []
    original = scripted.create_app

    def recording(*args: Any, **kwargs: Any) -> RecordingApp:
        wrapped = RecordingApp(original(*args, **kwargs))
        wrapped.bodies = bodies
        return wrapped

    monkeypatch.setattr(scripted, "create_app", recording)
    return bodies


@pytest.fixture
async def local(
    make_settings: Callable[..., Settings], recorded: list[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    app = create_app(make_settings(backend="local", allow_unsandboxed=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


def _text_of(body: dict[str, Any]) -> str:
    """Every text block of a request's messages."""
    parts: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
            continue
        for block in content or []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
    return "\n".join(parts)


async def test_synthesized_variation_combines_the_top_two(
    local: httpx.AsyncClient, sample_repo: Path, recorded: list[dict[str, Any]]
) -> None:
    body = {
        "repo_url": str(sample_repo),
        "prompt": PROMPT,
        "variations": [
            {"model": "scripted/fix-bad"},
            {"model": "scripted/fix-correct"},
            {"model": "scripted/fix-alt"},
        ],
        "check_command": "python3 -m unittest -q",
        "winner_policy": "best_score",
        "synthesize": {"model": SYNTH_MODEL, "top": 2},
    }
    res = await local.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    run = await wait_finished(local, run_id, timeout=300)
    assert run["status"] == "succeeded", run

    variations = {v["variation_id"]: v for v in run["variations"]}
    assert sorted(variations) == [0, 1, 2, 3]
    synth = variations[3]
    assert sorted(synth["synthesized_from"]) == [1, 2]  # the two passing fixes, not fix-bad
    assert all(variations[n]["synthesized_from"] is None for n in (0, 1, 2))
    assert run["synthesis"] == {
        "top": 2,
        "model": SYNTH_MODEL,
        "status": "started",
        "reason": None,
        "variation_id": 3,
        "synthesized_from": synth["synthesized_from"],
    }
    assert synth["spec"]["model"] == SYNTH_MODEL
    assert synth["status"] == "succeeded" and synth["check"]["passed"] is True
    assert synth["score"] is not None and synth["score_parts"]["of"] == 4

    diffs = {
        n: (await local.get(f"/api/v1/runs/{run_id}/variations/{n}/diff")).text for n in range(4)
    }
    # Its own diff: the index fix with a comment and the new regression test.
    assert "+    return (ordered[middle - 1] + ordered[middle]) / 2" in diffs[3]
    assert "+    def test_agrees_with_statistics_median(self):" in diffs[3]
    assert synth["diff_stats"]["files"] == 2

    synth_requests = [b for b in recorded if b.get("model") == SYNTH_MODEL]
    assert synth_requests, "the synthesized variation asked its model"
    first = _text_of(synth_requests[0])
    assert PROMPT in first
    for n in (1, 2):
        assert diffs[n] and diffs[n] in first, f"variation {n}'s diff is in the request"
    assert "if values == [1, 2, 3, 4]" not in first  # fix-bad's diff is not

    events = await collect(local, f"/api/v1/runs/{run_id}/stream")
    statuses = [
        e.json["status"]
        for e in events
        if e.event == "variation_status" and e.json["variation_id"] == 3
    ]
    assert statuses[:2] == ["queued", "running"] and statuses[-1] == "succeeded"
    assert any(e.event == "agent_output" and e.json["variation_id"] == 3 for e in events)
    # It starts once the others ended: its queued event comes after their final statuses.
    order = [
        (e.json["variation_id"], e.json["status"]) for e in events if e.event == "variation_status"
    ]
    first_synth = order.index((3, "queued"))
    assert {vid for vid, s in order[:first_synth] if s == "succeeded"} == {0, 1, 2}
