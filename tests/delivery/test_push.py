"""Push a variation to a private loopback git server as a new branch; open a pull request."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.conftest import make_git_repo, start_command_run, wait_finished
from tests.repos.git_http import GitHttpServer
from tests.sse_client import collect

from .fake_github import FakeGitHub

FIX = "printf 'def add(a, b):\\n    return a + b\\n' > calc.py && printf 'x\\0y' > data.bin"
OTHER = "echo other > other.txt"


def git_out(repo: Path, *args: str) -> str:
    """git in a test repository (setup and assertions only)."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@dataclass
class Remote:
    """A private repository on a loopback git server, its token and a fake GitHub."""

    bare: Path
    url: str
    token: str
    git: GitHttpServer
    github: FakeGitHub
    credentials: Path


@pytest.fixture
def remote(tmp_path: Path) -> Any:
    work = make_git_repo(tmp_path / "work", {"calc.py": "def add(a, b):\n    return a - b\n"})
    bare = tmp_path / "srv" / "owner" / "project.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    token = f"canary-git-{secrets.token_hex(10)}"
    with GitHttpServer(tmp_path / "srv", auth=("git", token)) as git, FakeGitHub() as github:
        store = tmp_path / "git-credentials"
        store.write_text(
            f"http://git:{token}@127.0.0.1:{git.server_address[1]}\n"
            f"http://api:{token}-api@127.0.0.1:{github.server_address[1]}\n"
        )
        yield Remote(bare, f"{git.base_url}/owner/project.git", token, git, github, store)


@pytest.fixture
async def app_client(
    make_settings: Callable[..., Settings], remote: Remote
) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    settings = make_settings(
        git_credentials=remote.credentials, github_api_url=remote.github.base_url
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def _finished_run(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    accepted = await start_command_run(client, url, FIX, OTHER)  # type: ignore[arg-type]
    run = await wait_finished(client, accepted["run_id"])
    assert run["status"] == "succeeded", run
    return run


async def test_push_creates_a_branch_with_exactly_the_diff(
    app_client: httpx.AsyncClient, remote: Remote
) -> None:
    run = await _finished_run(app_client, remote.url)
    run_id, base = run["id"], run["base_sha"]
    diff = (await app_client.get(f"/api/v1/runs/{run_id}/variations/0/diff")).text
    assert "calc.py" in diff and "data.bin" in diff

    res = await app_client.post(f"/api/v1/runs/{run_id}/variations/0/push", json={})
    assert res.status_code == 200, res.text
    pushed = res.json()
    assert pushed["branch"] == f"aideator/{run_id[:8]}-v0"
    assert pushed["pull_request_url"] is None
    commit = git_out(remote.bare, "rev-parse", f"refs/heads/{pushed['branch']}").strip()
    assert commit == pushed["commit"]
    assert git_out(remote.bare, "rev-parse", f"{commit}^").strip() == base
    assert git_out(remote.bare, "diff", "--binary", base, commit) == diff
    assert git_out(remote.bare, "log", "-1", "--format=%an <%ae>", commit).strip() == (
        "AIdeator agent <agent@aideator.invalid>"
    )
    message = git_out(remote.bare, "log", "-1", "--format=%B", commit)
    assert f"AIdeator-Run: {run_id}\nAIdeator-Variation: 0" in message
    assert message.startswith("p\n")  # the prompt's first line is the subject

    again = await app_client.post(f"/api/v1/runs/{run_id}/variations/1/push",
                                  json={"branch": pushed["branch"]})  # fmt: skip
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "branch_exists"
    assert "already exists" in again.json()["error"]["message"]
    assert git_out(remote.bare, "rev-parse", f"refs/heads/{pushed['branch']}").strip() == commit

    listed = (await app_client.get(f"/api/v1/runs/{run_id}/deliveries")).json()
    assert [(d["variation_id"], d["branch"], d["commit"]) for d in listed] == [
        (0, pushed["branch"], commit)
    ]
    events = await collect(app_client, f"/api/v1/runs/{run_id}/stream")
    delivered = [e for e in events if e.event == "delivered"]
    assert len(delivered) == 1 and commit in delivered[0].data
    assert events[-1].event == "complete"


async def test_pull_request_through_the_github_api(
    app_client: httpx.AsyncClient, remote: Remote
) -> None:
    run = await _finished_run(app_client, remote.url)
    res = await app_client.post(
        f"/api/v1/runs/{run['id']}/variations/1/push",
        json={"branch": "feature/other", "pull_request": True, "title": "Add other.txt"},
    )
    assert res.status_code == 200, res.text
    assert res.json()["pull_request_url"] == f"{remote.github.base_url}/pull/1"
    (request,) = remote.github.requests
    assert request["path"] == "/repos/owner/project/pulls"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == f"Bearer {remote.token}-api"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    sent = request["json"]
    assert (sent["head"], sent["base"], sent["title"]) == ("feature/other", "main", "Add other.txt")
    assert sent["body"].startswith("## AIdeator: variation 1 (`command: sh -c echo other")
    assert "| succeeded |" in sent["body"] and "1 file, +1/-0" in sent["body"]
    assert git_out(remote.bare, "show", "feature/other:other.txt") == "other\n"


async def test_pull_request_refused_is_one_clear_line(
    app_client: httpx.AsyncClient, remote: Remote
) -> None:
    run = await _finished_run(app_client, remote.url)
    remote.github.answer = (
        422,
        {"message": "Validation Failed", "errors": [{"message": "No commits"}]},
    )
    res = await app_client.post(f"/api/v1/runs/{run['id']}/variations/0/push",
                                json={"pull_request": True})  # fmt: skip
    assert res.status_code == 502
    assert res.json()["error"]["message"] == (
        f"branch 'aideator/{run['id'][:8]}-v0' was pushed, but GitHub refused the pull request: "
        "HTTP 422: Validation Failed; No commits"
    )


async def test_bad_branch_names_are_refused(app_client: httpx.AsyncClient, remote: Remote) -> None:
    run = await _finished_run(app_client, remote.url)
    for name in ["-f", "a..b", "x y", "refs/../x", "a.lock", "@"]:
        res = await app_client.post(f"/api/v1/runs/{run['id']}/variations/0/push",
                                    json={"branch": name})  # fmt: skip
        assert res.status_code == 422, (name, res.text)
    assert git_out(remote.bare, "for-each-ref", "refs/heads").count("\n") == 1  # main only


def _public_repo(root: Path) -> Path:
    work = make_git_repo(root / "work", {"calc.py": "x\n"})
    bare = root / "srv" / "public.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


async def test_push_without_credentials_is_a_clear_error(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from app.main import create_app

    _public_repo(tmp_path)
    with GitHttpServer(tmp_path / "srv") as server:  # public: clones need no credentials
        app = create_app(make_settings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                run = await _finished_run(client, f"{server.base_url}/public.git")
                res = await client.post(f"/api/v1/runs/{run['id']}/variations/0/push", json={})
    assert res.status_code == 422
    assert res.json()["error"]["message"].startswith("no credentials for 127.0.0.1: pushing")
    assert not any(
        method == "POST" and "receive-pack" in path for method, path, _ in server.requests
    )


async def test_push_to_a_local_repository_needs_no_credentials(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    repo = make_git_repo(tmp_path / "local", {"calc.py": "x\n"})
    run = await _finished_run(client, str(repo))
    res = await client.post(f"/api/v1/runs/{run['id']}/variations/1/push", json={"branch": "mine"})
    assert res.status_code == 200, res.text
    assert git_out(repo, "show", "mine:other.txt") == "other\n"
    assert git_out(repo, "status", "--porcelain") == ""  # the checked-out branch is untouched


async def test_credentials_are_read_at_each_use_and_a_refusal_is_named(
    app_client: httpx.AsyncClient, remote: Remote
) -> None:
    run = await _finished_run(app_client, remote.url)
    good = remote.credentials.read_text()
    remote.credentials.write_text(good.replace(remote.token, "rotated-away", 1))
    res = await app_client.post(f"/api/v1/runs/{run['id']}/variations/0/push", json={})
    assert res.status_code == 422
    assert res.json()["error"]["message"] == (
        "the credentials stored for 127.0.0.1 were refused by the remote"
    )
    remote.credentials.write_text(good)
    res = await app_client.post(f"/api/v1/runs/{run['id']}/variations/0/push", json={})
    assert res.status_code == 200, res.text


async def test_a_push_the_remote_refuses_is_one_line(
    app_client: httpx.AsyncClient, remote: Remote
) -> None:
    run = await _finished_run(app_client, remote.url)
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branches are protected here' >&2\nexit 1\n")
    hook.chmod(0o755)
    res = await app_client.post(f"/api/v1/runs/{run['id']}/variations/0/push", json={})
    assert res.status_code == 502
    error = res.json()["error"]
    assert error["code"] == "push_refused"
    assert error["message"].startswith("the remote refused the push: ")
    assert "pre-receive hook declined" in error["message"]
    assert git_out(remote.bare, "for-each-ref", "refs/heads").count("\n") == 1
