"""RepoCache against a real git HTTP server: one clone per run, refs, independent workspaces."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.errors import RepoError
from app.repos.cache import RepoCache

from .conftest import SourceRepo, git
from .git_http import GitHttpServer


@pytest.fixture(params=["checkout", "overlay"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> RepoCache:
    """A cache whose workspaces are full checkouts, or overlay mounts (root only)."""
    overlay = request.param == "overlay"
    if overlay and os.geteuid() != 0:
        pytest.skip("only root can mount an overlay")
    return RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=60, overlay=overlay)


async def agit(*args: str | Path, cwd: Path | None = None) -> str:
    """Test-side git, off the event loop."""
    return await asyncio.to_thread(git, *args, cwd=cwd)


class TestPrepare:
    async def test_three_variations_clone_once_per_run(
        self, cache: RepoCache, git_server: GitHttpServer, repo_url: str, source_repo: SourceRepo
    ) -> None:
        shas = await asyncio.gather(
            *(cache.prepare(run_id="run-a", repo_url=repo_url, ref=None) for _ in range(3))
        )
        assert shas == [source_repo.main] * 3
        assert git_server.ref_advertisements() == 1
        await cache.prepare(run_id="run-a", repo_url=repo_url, ref="feature")
        assert git_server.ref_advertisements() == 1  # same run: no network at all
        await asyncio.gather(
            *(cache.prepare(run_id="run-b", repo_url=repo_url, ref="main") for _ in range(3))
        )
        assert git_server.ref_advertisements() == 2  # a new run fetches once
        mirrors = list((cache.layout.mirrors).iterdir())
        assert len(mirrors) == 1 and mirrors[0].suffix == ".git"

    @pytest.mark.parametrize(
        ("ref", "expected"),
        [
            (None, "main"),
            ("HEAD", "main"),
            ("main", "main"),
            ("feature", "feature"),
            ("refs/heads/feature", "feature"),
            ("v1", "first"),  # annotated tag: peeled to its commit
            ("first-sha", "first"),
            ("first-short-sha", "first"),
            ("hidden-sha", "hidden"),  # only under refs/pull/*: fetched by id
        ],
    )
    async def test_ref_resolves_to_a_commit(
        self,
        cache: RepoCache,
        repo_url: str,
        source_repo: SourceRepo,
        ref: str | None,
        expected: str,
    ) -> None:
        shas = {"main": source_repo.main, "feature": source_repo.feature}
        shas |= {"first": source_repo.first, "hidden": source_repo.hidden}
        requested = {
            "first-sha": source_repo.first,
            "first-short-sha": source_repo.first[:9],
            "hidden-sha": source_repo.hidden,
        }.get(ref or "", ref)
        sha = await cache.prepare(run_id="run-1", repo_url=repo_url, ref=requested)
        assert sha == shas[expected]

    @pytest.mark.parametrize("ref", ["no-such-branch", "v9", "0" * 40, "deadbeef1"])
    async def test_unknown_ref_is_a_repo_error(
        self, cache: RepoCache, repo_url: str, ref: str
    ) -> None:
        with pytest.raises(RepoError) as caught:
            await cache.prepare(run_id="run-1", repo_url=repo_url, ref=ref)
        assert "unknown ref" in caught.value.message and ref in caught.value.message
        assert caught.value.details == {"field": "ref"}

    async def test_bad_ref_syntax_is_refused_before_any_network(
        self, cache: RepoCache, git_server: GitHttpServer, repo_url: str
    ) -> None:
        with pytest.raises(RepoError, match="option"):
            await cache.prepare(run_id="run-1", repo_url=repo_url, ref="--upload-pack=x")
        assert git_server.requests == []

    async def test_a_new_run_sees_new_commits(
        self, cache: RepoCache, tmp_path: Path, source_repo: SourceRepo
    ) -> None:
        served = tmp_path / "srv"
        await asyncio.to_thread(shutil.copytree, source_repo.bare, served / "repo.git")
        with GitHttpServer(served) as server:
            url = f"{server.base_url}/repo.git"
            assert await cache.prepare(run_id="r1", repo_url=url, ref=None) == source_repo.main
            work = tmp_path / "work"
            await agit("clone", "-q", served / "repo.git", work)
            (work / "new.txt").write_text("new\n")
            await agit("add", "-A", cwd=work)
            await agit("commit", "-qm", "new", cwd=work)
            await agit("push", "-q", "origin", "main", cwd=work)
            new_head = await agit("rev-parse", "HEAD", cwd=work)
            assert await cache.prepare(run_id="r1", repo_url=url, ref=None) == source_repo.main
            assert await cache.prepare(run_id="r2", repo_url=url, ref=None) == new_head

    @pytest.mark.parametrize("form", ["path", "file-url"])
    async def test_local_repository_when_allowed(
        self, cache: RepoCache, source_repo: SourceRepo, form: str
    ) -> None:
        url = str(source_repo.work) if form == "path" else f"file://{source_repo.work}"
        assert await cache.prepare(run_id="r1", repo_url=url, ref=None) == source_repo.main
        assert await cache.prepare(run_id="r1", repo_url=url, ref="v1") == source_repo.first

    async def test_policy_is_enforced_by_prepare(
        self, tmp_path: Path, git_server: GitHttpServer, repo_url: str, source_repo: SourceRepo
    ) -> None:
        strict = RepoCache(tmp_path / "strict")
        for url in (repo_url, str(source_repo.work), f"file://{source_repo.bare}"):
            with pytest.raises(RepoError) as caught:
                await strict.prepare(run_id="r1", repo_url=url, ref=None)
            assert caught.value.details == {"field": "repo_url"}
        assert git_server.requests == []


class TestWorkspaces:
    async def test_workspaces_are_independent_checkouts_at_base_sha(
        self, cache: RepoCache, repo_url: str, source_repo: SourceRepo
    ) -> None:
        base = await cache.prepare(run_id="run-w", repo_url=repo_url, ref="feature")
        trees = await asyncio.gather(
            *(cache.add_worktree(run_id="run-w", variation_id=n, base_sha=base) for n in range(3))
        )
        assert trees == [cache.workspace_path("run-w", n) for n in range(3)]
        for tree in trees:
            assert await agit("rev-parse", "HEAD", cwd=tree) == source_repo.feature
            assert (tree / "feature.txt").read_text() == "feature\n"
            assert await agit("status", "--porcelain", cwd=tree) == ""
        (trees[0] / "README.md").write_text("changed in 0\n")
        (trees[0] / "only-in-0.txt").write_text("x\n")
        await agit("add", "-A", cwd=trees[0])
        await agit("commit", "-qm", "variation 0", cwd=trees[0])
        assert (trees[1] / "README.md").read_text() == "hello\n"
        assert not (trees[1] / "only-in-0.txt").exists()
        assert await agit("status", "--porcelain", cwd=trees[1]) == ""
        assert await agit("rev-parse", "HEAD", cwd=trees[1]) == source_repo.feature

    async def test_workspace_is_self_contained(
        self, cache: RepoCache, repo_url: str, source_repo: SourceRepo
    ) -> None:
        base = await cache.prepare(run_id="run-s", repo_url=repo_url, ref=None)
        tree = await cache.add_worktree(run_id="run-s", variation_id=0, base_sha=base)
        assert (tree / ".git").is_dir()  # not a worktree's `.git` file pointing elsewhere
        assert not (tree / ".git" / "objects" / "info" / "alternates").exists()
        assert await agit("remote", cwd=tree) == ""
        config = await agit("config", "--list", "--show-origin", cwd=tree)
        assert str(cache.layout.root) not in config
        assert not list((tree / ".git").glob("hooks/*"))
        # No object file is shared (hardlinked) with the mirror or another workspace.
        objects = [p for p in (tree / ".git" / "objects").rglob("*") if p.is_file()]
        assert objects and all(p.stat().st_nlink == 1 for p in objects)

    async def test_linked_objects_are_the_mirrors_read_only_files(
        self, tmp_path: Path, repo_url: str, source_repo: SourceRepo
    ) -> None:
        cache = RepoCache(tmp_path / "linked", allow_local=True, link_objects=True)
        base = await cache.prepare(run_id="run-l", repo_url=repo_url, ref=None)
        trees = await asyncio.gather(
            *(cache.add_worktree(run_id="run-l", variation_id=n, base_sha=base) for n in range(2))
        )
        mirror = next(cache.layout.mirrors.iterdir())
        mirror_inodes = {p.stat().st_ino for p in (mirror / "objects").rglob("*") if p.is_file()}
        for tree in trees:
            objects = [p for p in (tree / ".git" / "objects").rglob("*") if p.is_file()]
            assert objects and {p.stat().st_ino for p in objects} <= mirror_inodes
            assert all(p.stat().st_mode & 0o222 == 0 for p in objects)
            assert await agit("remote", cwd=tree) == ""
        # One variation's commits (new object files) never reach the other or the mirror.
        (trees[0] / "README.md").write_text("changed in 0\n")
        await agit("commit", "-qam", "variation 0", cwd=trees[0])
        head0 = await agit("rev-parse", "HEAD", cwd=trees[0])
        assert await agit("rev-parse", "HEAD", cwd=trees[1]) == source_repo.main
        with pytest.raises(subprocess.CalledProcessError):
            await agit("cat-file", "-e", head0, cwd=trees[1])
        assert await agit("diff", "--stat", base, cwd=trees[1]) == ""
        assert await agit("fsck", "--no-dangling", cwd=trees[1]) == ""

    @pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
    async def test_git_diff_works_in_a_sandbox_that_sees_only_the_workspace(
        self, cache: RepoCache, repo_url: str
    ) -> None:
        base = await cache.prepare(run_id="run-b", repo_url=repo_url, ref="v1")
        tree = await cache.add_worktree(run_id="run-b", variation_id=0, base_sha=base)
        (tree / "src" / "calc.py").write_text("def add(a, b):\n    return b + a\n")
        (tree / "added.txt").write_text("new file\n")
        script = (
            "git add -A && git diff --cached --stat "
            f"{base} && git commit -qm agent && git diff {base} --name-only"
        )
        argv = [
            "bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--bind", str(tree), "/workspace", "--chdir", "/workspace",
            "--unshare-all", "--die-with-parent", "--clearenv",
            "--setenv", "PATH", "/usr/bin", "--setenv", "HOME", "/tmp",
            "sh", "-c", script,
        ]  # fmt: skip
        done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "added.txt" in done.stdout and "src/calc.py" in done.stdout
        assert "2 files changed" in done.stdout

    async def test_add_worktree_needs_a_prepared_run_and_a_full_sha(
        self, cache: RepoCache, repo_url: str
    ) -> None:
        with pytest.raises(RepoError, match="prepare"):
            await cache.add_worktree(run_id="nope", variation_id=0, base_sha="a" * 40)
        base = await cache.prepare(run_id="r", repo_url=repo_url, ref=None)
        with pytest.raises(RepoError, match="full commit sha"):
            await cache.add_worktree(run_id="r", variation_id=0, base_sha=base[:12])
        with pytest.raises(RepoError, match="run_id"):
            cache.workspace_path("../escape", 0)
        with pytest.raises(RepoError, match="variation_id"):
            cache.workspace_path("r", -1)

    async def test_remove_run_deletes_only_that_run(self, cache: RepoCache, repo_url: str) -> None:
        for run in ("keep", "drop"):
            base = await cache.prepare(run_id=run, repo_url=repo_url, ref=None)
            for n in range(2):
                await cache.add_worktree(run_id=run, variation_id=n, base_sha=base)
        (cache.workspace_path("drop", 1) / "ro").mkdir()
        (cache.workspace_path("drop", 1) / "ro" / "f").write_text("x")
        (cache.workspace_path("drop", 1) / "ro").chmod(0o500)
        await cache.remove_run("drop")
        assert not cache.layout.run_dir("drop").exists()
        assert cache.workspace_path("keep", 0).is_dir() and cache.workspace_path("keep", 1).is_dir()
        assert any(cache.layout.mirrors.iterdir())  # the mirror stays for the next run

    async def test_sweep_orphans_removes_inactive_runs_and_partial_clones(
        self, cache: RepoCache, repo_url: str
    ) -> None:
        base = await cache.prepare(run_id="alive", repo_url=repo_url, ref=None)
        await cache.add_worktree(run_id="alive", variation_id=0, base_sha=base)
        dead = cache.layout.run_dir("dead-run") / "0"
        dead.mkdir(parents=True)
        (dead / "file").write_text("left over by a crash\n")
        partial = cache.layout.mirrors / "0123abcd.git.partial-deadbeef"
        partial.mkdir()
        removed = await cache.sweep_orphans({"alive"})
        assert sorted(removed) == sorted([cache.layout.run_dir("dead-run"), partial])
        assert cache.workspace_path("alive", 0).is_dir()
        assert not partial.exists() and not cache.layout.run_dir("dead-run").exists()
        assert await cache.sweep_orphans({"alive"}) == []
