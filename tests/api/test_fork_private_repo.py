"""Fork of a run on a private repository: the same credentials; its winner is one patch."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.conftest import command_spec, make_git_repo, wait_finished
from tests.repos.git_http import GitHttpServer

FIX = "printf 'def add(a, b):\\n    return a + b\\n' > calc.py"
NOTE = "test -n \"$(grep 'a + b' calc.py)\" && echo 'add() is fixed' > NOTES.md"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
async def private(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, str, Path]]:
    """A client whose server reaches a password-protected loopback repository."""
    from app.main import create_app

    work = make_git_repo(tmp_path / "work", {"calc.py": "def add(a, b):\n    return a - b\n"})
    bare = tmp_path / "srv" / "owner" / "project.git"
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    token = f"canary-git-{secrets.token_hex(10)}"
    with GitHttpServer(tmp_path / "srv", auth=("git", token)) as git:
        store = tmp_path / "git-credentials"
        store.write_text(f"http://git:{token}@127.0.0.1:{git.server_address[1]}\n")
        app = create_app(make_settings(git_credentials=store))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield client, f"{git.base_url}/owner/project.git", bare


async def test_fork_of_a_private_repository_pushes_as_one_commit_on_the_base(
    private: tuple[httpx.AsyncClient, str, Path],
) -> None:
    client, url, bare = private
    body = {"repo_url": url, "prompt": "fix add", "variations": [command_spec(FIX)]}
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    parent = await wait_finished(client, res.json()["run_id"])
    assert parent["status"] == "succeeded", parent["error"]

    res = await client.post(
        f"/api/v1/runs/{parent['id']}/variations/0/fork",
        json={"prompt": "note it", "variations": [command_spec(NOTE)]},
    )
    assert res.status_code == 202, res.text
    child = await wait_finished(client, res.json()["run_id"])
    assert child["status"] == "succeeded", child["error"]
    assert child["repo_url"] == url and child["base_sha"] == parent["base_sha"]

    pushed = await client.post(f"/api/v1/runs/{child['id']}/variations/0/push", json={})
    assert pushed.status_code == 200, pushed.text
    commit = pushed.json()["commit"]
    assert _git(bare, "rev-parse", f"{commit}^").strip() == parent["base_sha"]
    assert _git(bare, "show", f"{commit}:calc.py") == "def add(a, b):\n    return a + b\n"
    assert _git(bare, "show", f"{commit}:NOTES.md") == "add() is fixed\n"
