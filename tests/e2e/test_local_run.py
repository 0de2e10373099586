"""Over HTTP with the local backend: real Claude Code in bubblewrap, the gateway socket, checks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.conftest import wait_finished

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


async def test_three_sandboxed_variations(
    make_settings: Callable[..., Settings], sample_repo: Path
) -> None:
    from app.main import create_app

    settings = make_settings(backend="local", allow_unsandboxed=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = (await client.get("/api/v1/ready")).json()
            assert ready["checks"]["backend"]["name"] == "local", ready
            body = {
                "repo_url": str(sample_repo),
                "prompt": "Fix the failing test.",
                "variations": [
                    {"model": "scripted/fix-correct"},
                    {"model": "scripted/fix-alt"},
                    {"model": "scripted/fix-bad"},
                ],
                "check_command": "python3 -m unittest -q",
            }
            res = await client.post("/api/v1/runs", json=body)
            assert res.status_code == 202, res.text
            run_id = res.json()["run_id"]
            run = await wait_finished(client, run_id, timeout=180)
            diffs = [
                (await client.get(f"/api/v1/runs/{run_id}/variations/{n}/diff")).text
                for n in range(3)
            ]
    assert run["status"] == "succeeded", run
    assert len({d for d in diffs if d}) == 3, "three different, non-empty diffs"
    checks = [v["check"] for v in run["variations"]]
    assert [c["passed"] for c in checks] == [True, True, False]
    assert all(c["duration_seconds"] is not None for c in checks)
    assert "FAILED" in checks[2]["output_tail"]
    for v in run["variations"]:
        assert v["usage"]["input_tokens"] > 0 and v["cost_usd"] > 0, "metered by the gateway"
        assert v["manifest"]["sandbox"].startswith("bubblewrap 0."), v["manifest"]
    workspaces = settings.data_dir / "repos"
    leftovers = [p for p in workspaces.rglob("*") if run_id in str(p)]
    assert leftovers == [], f"workspaces left behind: {leftovers[:3]}"
