"""A backend that clones where the agent runs (dagger) gets the stored git token, by name only."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.runners.dagger.command import GIT_TOKEN_ENV
from tests.conftest import make_git_repo, start_command_run, wait_finished
from tests.repos.git_http import GitHttpServer

STAND_IN = Path(__file__).parents[1] / "runners" / "dagger" / "fake_dagger_cli.py"


def _private_repo(root: Path) -> None:
    work = make_git_repo(root / "work", {"a.txt": "a\n"})
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "srv" / "r.git")],
                   check=True)  # fmt: skip


@pytest.mark.parametrize("backend", ["dagger", "process"])
async def test_token_reaches_only_a_remote_tree_backend(
    backend: str,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.main import create_app

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dagger").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" "$@"\n')
    (bin_dir / "dagger").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}")
    monkeypatch.setenv("FAKE_DAGGER_MODE", "result")
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_DAGGER_RECORD", str(record))
    _private_repo(tmp_path)
    token = f"canary-{secrets.token_hex(8)}"
    with GitHttpServer(tmp_path / "srv", auth=("git", token)) as git:
        store = tmp_path / "creds"
        store.write_text(f"http://git:{token}@127.0.0.1:{git.server_address[1]}\n")
        app = create_app(make_settings(backend=backend, git_credentials=store))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                accepted = await start_command_run(client, f"{git.base_url}/r.git", "env")  # type: ignore[arg-type]
                run = await wait_finished(client, accepted["run_id"])
                outputs = (await client.get(f"/api/v1/runs/{run['id']}/stream")).text
    assert run["base_sha"], run  # the host cloned it with the stored credential
    if backend == "dagger":
        invocation = json.loads(record.read_text())
        assert invocation["env"][GIT_TOKEN_ENV] == token
        assert f"--git-token=env://{GIT_TOKEN_ENV}" in invocation["argv"]
        assert not any(token in arg for arg in invocation["argv"])
    else:
        assert not record.exists()
        assert "PATH=" in outputs  # the agent printed its environment: no token in it
    assert token not in outputs
