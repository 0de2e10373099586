"""`aideator runs apply|push` and `compare --push-winner --pr`, as a user or CI runs them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.cli_runner import CHECK, PROMPT, Compared, aideator, sample_copy
from tests.delivery.fake_github import FakeGitHub
from tests.repos.git_http import GitHttpServer
from tests.server_process import ServerProcess

SUMMARY = "numstats/summary.py"
FIX_LINE = "    return (ordered[middle - 1] + ordered[middle]) / 2\n"


def git(repo: Path, *args: str) -> str:
    """git in a test checkout."""
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
         *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _clone(shared_repo: Path, tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(shared_repo), str(checkout)], check=True)
    return checkout


def _fix_variation(compared: Compared) -> tuple[str, int]:
    fixed = next(v for v in compared.report["variations"] if v["model"] == "scripted/fix-correct")
    return compared.report["run"]["id"], fixed["variation_id"]


class TestApply:
    def test_clean_checkout(
        self, server: ServerProcess, shared_repo: Path, compared: Compared, tmp_path: Path
    ) -> None:
        checkout = _clone(shared_repo, tmp_path)
        run_id, n = _fix_variation(compared)
        result = aideator("runs", "apply", run_id, str(n), "--path", str(checkout),
                          "--server", server.url, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"applied variation {n} of run {run_id[:8]}" in result.stdout
        assert f"{SUMMARY}  +1 -1" in result.stdout
        assert FIX_LINE in (checkout / SUMMARY).read_text()
        assert git(checkout, "status", "--porcelain") == f" M {SUMMARY}\n"

    def test_dirty_checkout_is_refused(
        self, server: ServerProcess, shared_repo: Path, compared: Compared, tmp_path: Path
    ) -> None:
        checkout = _clone(shared_repo, tmp_path)
        (checkout / "README.md").write_text("local edit\n")
        run_id, n = _fix_variation(compared)
        result = aideator("runs", "apply", run_id, str(n), "--path", str(checkout),
                          "--server", server.url, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 2
        assert "uncommitted changes (README.md)" in result.stderr
        assert "--force" in result.stderr
        assert FIX_LINE not in (checkout / SUMMARY).read_text()
        forced = aideator("runs", "apply", run_id, str(n), "--path", str(checkout), "--force",
                          "--server", server.url, cwd=tmp_path)  # fmt: skip
        assert forced.returncode == 0, forced.stderr
        assert FIX_LINE in (checkout / SUMMARY).read_text()
        assert (checkout / "README.md").read_text() == "local edit\n"

    def test_base_moved_nearby_merges_three_way(
        self, server: ServerProcess, shared_repo: Path, compared: Compared, tmp_path: Path
    ) -> None:
        checkout = _clone(shared_repo, tmp_path)
        path = checkout / SUMMARY
        text = path.read_text().replace("// 2\n", "// 2  # the upper middle\n")
        path.write_text(text)
        git(checkout, "commit", "-qam", "moved on")
        run_id, n = _fix_variation(compared)
        result = aideator("runs", "apply", run_id, str(n), "--path", str(checkout),
                          "--server", server.url, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "three-way merge" in result.stdout
        merged = path.read_text()
        assert FIX_LINE in merged and "# the upper middle" in merged

    def test_base_moved_under_the_patch_is_refused(
        self, server: ServerProcess, shared_repo: Path, compared: Compared, tmp_path: Path
    ) -> None:
        checkout = _clone(shared_repo, tmp_path)
        path = checkout / SUMMARY
        path.write_text(path.read_text().replace("[middle + 1]) / 2", "[middle + 1]) / 2.0"))
        git(checkout, "commit", "-qam", "moved on")
        before = path.read_text()
        run_id, n = _fix_variation(compared)
        result = aideator("runs", "apply", run_id, str(n), "--path", str(checkout),
                          "--server", server.url, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 2
        assert f"the base moved and the patch no longer applies: conflicts in {SUMMARY}" in (
            result.stderr
        )
        assert path.read_text() == before
        assert git(checkout, "status", "--porcelain") == ""

    def test_not_a_checkout(
        self, server: ServerProcess, compared: Compared, tmp_path: Path
    ) -> None:
        run_id, n = _fix_variation(compared)
        result = aideator("runs", "apply", run_id, str(n), "--path", str(tmp_path),
                          "--server", server.url, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 2 and "is not a git checkout" in result.stderr


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, str, Path, FakeGitHub]]:
    """A server with stored credentials, a private repository and a fake GitHub API."""
    work = sample_copy(tmp_path / "src")
    bare = tmp_path / "srv" / "team" / "numstats.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    token = "canary-cli-token"
    with GitHttpServer(tmp_path / "srv", auth=("git", token)) as git_server, FakeGitHub() as gh:
        store = tmp_path / "creds"
        store.write_text(
            f"http://git:{token}@127.0.0.1:{git_server.server_address[1]}\n"
            f"http://api:{token}@127.0.0.1:{gh.server_address[1]}\n"
        )
        srv = ServerProcess(tmp_path / "server", git_credentials=str(store),
                            github_api_url=gh.base_url).start()  # fmt: skip
        try:
            yield srv, f"{git_server.base_url}/team/numstats.git", bare, gh
        finally:
            srv.stop()


def test_compare_pushes_the_winner_with_a_pull_request(
    private_server: tuple[ServerProcess, str, Path, FakeGitHub], tmp_path: Path
) -> None:
    srv, url, bare, github = private_server
    result = aideator("compare", "--server", srv.url, "--repo", url, "--prompt", PROMPT,
                      "-m", "scripted/fix-bad", "-m", "scripted/fix-correct", "--check", CHECK,
                      "--report-dir", "out", "--push-winner", "--pr", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    run_id = json.loads((tmp_path / "out" / "report.json").read_text())["run"]["id"]
    branch = f"aideator/{run_id[:8]}-v1"
    assert f"pushed variation 1 as branch {branch}" in result.stdout
    assert f"pull request: {github.base_url}/pull/1" in result.stdout
    assert FIX_LINE in git(bare, "show", f"{branch}:{SUMMARY}")
    (request,) = github.requests
    assert (request["json"]["head"], request["json"]["base"]) == (branch, "main")

    again = aideator("runs", "push", run_id[:8], "1", "--server", srv.url, cwd=tmp_path)
    assert again.returncode == 2
    assert f"branch '{branch}' already exists on the remote" in again.stderr
    assert "--branch" in again.stderr
    other = aideator("runs", "push", run_id[:8], "0", "--branch", "try/bad", "--title", "Bad fix",
                     "--server", srv.url, cwd=tmp_path)  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert git(bare, "log", "-1", "--format=%s", "try/bad").strip() == "Bad fix"
    assert len(github.requests) == 1  # no --pr: no pull request
