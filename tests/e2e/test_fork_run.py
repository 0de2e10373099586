"""Fork end to end: real Claude Code in the local sandbox fixes the bug; a fork starts from it.

The parent variation (scripted model, scenario fix-correct) edits numstats/summary.py; its
workspace is removed when the run ends (retention 0), so the fork's tree comes from the stored
diff. The fork's agent runs the tests in its own sandboxed workspace: they only pass when the
parent's fix is there. The fork's diff holds both changes against the original base commit.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.conftest import command_spec, wait_finished

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

FIX = "+    return (ordered[middle - 1] + ordered[middle]) / 2"
CHECK = "python3 -m unittest -q"
NOTE = f'{CHECK} && echo "tests pass with the parent\'s fix" > FORKED.md'


@pytest.fixture
async def local(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    app = create_app(make_settings(backend="local", allow_unsandboxed=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


def _applies(repo: Path, base_sha: str, diff: str, checkout: Path) -> str:
    """The tests' output on `repo` at base_sha with `diff` applied (they must pass)."""
    subprocess.run(["git", "clone", "-q", str(repo), str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "checkout", "-q", base_sha], check=True)
    subprocess.run(["git", "-C", str(checkout), "apply", "-"], input=diff.encode(), check=True)
    done = subprocess.run(CHECK.split(), cwd=checkout, capture_output=True, text=True, check=True)
    return done.stderr


async def test_fork_of_a_claude_code_variation(
    local: httpx.AsyncClient, sample_repo: Path, tmp_path: Path
) -> None:
    body = {
        "repo_url": str(sample_repo),
        "prompt": "Fix the failing test.",
        "variations": [{"model": "scripted/fix-correct"}],
        "check_command": CHECK,
    }
    res = await local.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    parent = await wait_finished(local, res.json()["run_id"], timeout=180)
    assert parent["status"] == "succeeded", parent
    assert parent["variations"][0]["check"]["passed"]

    res = await local.post(
        f"/api/v1/runs/{parent['id']}/variations/0/fork",
        json={"prompt": "Record that the tests pass.", "variations": [command_spec(NOTE)]},
    )
    assert res.status_code == 202, res.text
    child = await wait_finished(local, res.json()["run_id"], timeout=180)
    assert child["status"] == "succeeded", child
    v = child["variations"][0]
    assert "bubblewrap" in v["manifest"]["sandbox"] and v["manifest"]["parent"] == child["parent"]
    assert child["parent"]["run_id"] == parent["id"] and child["base_sha"] == parent["base_sha"]
    assert v["check"]["passed"], v["check"]  # the inherited check, on the forked tree
    diff = (await local.get(f"/api/v1/runs/{child['id']}/variations/0/diff")).text
    assert FIX in diff and "+tests pass with the parent's fix" in diff, diff
    assert "OK" in _applies(sample_repo, parent["base_sha"], diff, tmp_path / "applied")
