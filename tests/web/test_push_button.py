"""Push from the page: a finished run's variation becomes a branch, and the page links it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import command_spec, make_git_repo
from tests.delivery.fake_github import FakeGitHub
from tests.repos.git_http import GitHttpServer
from tests.server_process import ServerProcess
from tests.web.browser import require_chromium, wait_run

pytestmark = pytest.mark.e2e


@pytest.fixture
def private_setup(tmp_path: Path) -> Iterator[tuple[ServerProcess, str, Path, FakeGitHub]]:
    """A server with stored credentials, a private repository and a fake GitHub API."""
    require_chromium()
    work = make_git_repo(tmp_path / "work", {"notes.txt": "one\n"})
    bare = tmp_path / "srv" / "team" / "notes.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    token = "canary-web-token"
    with GitHttpServer(tmp_path / "srv", auth=("git", token)) as git, FakeGitHub() as github:
        store = tmp_path / "creds"
        store.write_text(
            f"http://git:{token}@127.0.0.1:{git.server_address[1]}\n"
            f"http://api:{token}@127.0.0.1:{github.server_address[1]}\n"
        )
        server = ServerProcess(tmp_path / "server", git_credentials=str(store),
                               github_api_url=github.base_url).start()  # fmt: skip
        try:
            yield server, f"{git.base_url}/team/notes.git", bare, github
        finally:
            server.stop()


def _branch_tip(bare: Path, branch: str) -> str:
    return subprocess.run(
        ["git", "-C", str(bare), "rev-parse", f"refs/heads/{branch}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def test_push_from_the_page_shows_the_branch_link(
    page: Any, private_setup: tuple[ServerProcess, str, Path, FakeGitHub]
) -> None:
    server, repo_url, bare, github = private_setup
    body = {
        "repo_url": repo_url,
        "prompt": "Add a line.",
        "variations": [command_spec("echo two >> notes.txt"), command_spec("echo 2 >> notes.txt")],
    }
    run_id = httpx.post(f"{server.url}/api/v1/runs", json=body).json()["run_id"]
    assert wait_run(server.url, run_id)["status"] == "succeeded"

    page.goto(f"{server.url}/#/runs/{run_id}")
    button = page.locator(".push-panel [data-action=push]")
    button.wait_for()
    page.wait_for_function(
        "() => !document.querySelector('.push-panel [data-action=push]').disabled"
    )
    page.select_option("[name=push_variation]", "1")
    button.click()
    link = page.locator(".deliveries li[data-variation='1'] a.branch-link")
    link.wait_for()
    branch = f"aideator/{run_id[:8]}-v1"
    assert link.inner_text() == branch
    assert (
        link.get_attribute("href")
        == f"{repo_url.removesuffix('.git')}/tree/aideator/{run_id[:8]}-v1"
    )
    tip = _branch_tip(bare, branch)
    assert tip[:12] in page.locator(".deliveries li[data-variation='1']").inner_text()

    # Again with the same name: the page shows the server's one-line refusal.
    page.fill("[name=push_branch]", branch)
    button.click()
    error = page.locator(".push-panel .field-error")
    error.wait_for()
    assert f"branch '{branch}' already exists on the remote" in error.inner_text()
    assert _branch_tip(bare, branch) == tip

    # A pull request: its link joins the list; a reload lists both from the server.
    page.fill("[name=push_branch]", "web/pr")
    page.check("[name=push_pr]")
    page.select_option("[name=push_variation]", "0")
    button.click()
    pr = page.locator(".deliveries li[data-variation='0'] a.pr-link")
    pr.wait_for()
    assert pr.get_attribute("href") == f"{github.base_url}/pull/1"
    assert github.requests[0]["json"]["head"] == "web/pr"
    page.reload()
    page.locator(".deliveries li[data-variation='0'] a.pr-link").wait_for()
    assert page.locator(".deliveries li").count() == 2
