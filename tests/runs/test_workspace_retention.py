"""Working trees are removed when a run ends, or after the configured retention."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from app.config import Settings
from tests.conftest import command_spec, wait_finished


async def _finished_run_trees(settings: Settings, repo: Path, wait: float) -> tuple[int, int]:
    from app.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = {"repo_url": str(repo), "prompt": "p", "variations": [command_spec("true")] * 2}
            run_id = (await client.post("/api/v1/runs", json=body)).json()["run_id"]
            await wait_finished(client, run_id)
            await asyncio.sleep(0.3)
            right_after = len([p for p in settings.data_dir.rglob(f"*{run_id}*")])
            await asyncio.sleep(wait)
            later = len([p for p in settings.data_dir.rglob(f"*{run_id}*")])
    return right_after, later


async def test_removed_at_once_by_default(
    make_settings: Callable[..., Settings], git_repo: Path
) -> None:
    assert await _finished_run_trees(make_settings(), git_repo, 0) == (0, 0)


async def test_kept_for_the_retention_then_removed(
    make_settings: Callable[..., Settings], git_repo: Path
) -> None:
    right_after, later = await _finished_run_trees(
        make_settings(workspace_retention_seconds=1.0), git_repo, 1.5
    )
    assert right_after > 0, "kept for inspection"
    assert later == 0, "removed once the retention ran out"
