"""Working trees are removed when a run ends, or after the configured retention."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from app.config import Settings
from tests.conftest import command_spec, wait_finished


def _trees(data_dir: Path, run_id: str) -> int:
    """Paths under the data folder named after the run (what vanishes meanwhile is gone)."""
    return sum(
        run_id in name for _root, dirs, files in os.walk(data_dir) for name in (*dirs, *files)
    )


async def _finished_run_trees(
    settings: Settings, repo: Path, wait: float, *, until_gone: float = 0
) -> tuple[int, int]:
    """Paths of a finished run 0.3 s after it ended, and `wait` seconds later (at most
    `until_gone` seconds more while some remain: a removal under way on a loaded machine)."""
    from app.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = {"repo_url": str(repo), "prompt": "p", "variations": [command_spec("true")] * 2}
            run_id = (await client.post("/api/v1/runs", json=body)).json()["run_id"]
            await wait_finished(client, run_id)
            await asyncio.sleep(0.3)
            right_after = await asyncio.to_thread(_trees, settings.data_dir, run_id)
            await asyncio.sleep(wait)
            later = await asyncio.to_thread(_trees, settings.data_dir, run_id)
            deadline = asyncio.get_running_loop().time() + until_gone
            while later and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)
                later = await asyncio.to_thread(_trees, settings.data_dir, run_id)
    return right_after, later


async def test_removed_at_once_by_default(
    make_settings: Callable[..., Settings], git_repo: Path
) -> None:
    # No retention: the removal starts as the run ends (on a loaded machine it may still be
    # under way 0.3 s later, so only the end state is checked).
    settings = make_settings()
    assert settings.workspace_retention_seconds == 0
    _, later = await _finished_run_trees(settings, git_repo, 0, until_gone=10)
    assert later == 0


async def test_kept_for_the_retention_then_removed(
    make_settings: Callable[..., Settings], git_repo: Path
) -> None:
    right_after, later = await _finished_run_trees(
        make_settings(workspace_retention_seconds=1.0), git_repo, 1.5
    )
    assert right_after > 0, "kept for inspection"
    assert later == 0, "removed once the retention ran out"
