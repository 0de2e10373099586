"""RepoCache defences: time and size limits, no redirects, no hooks, pinned DNS answers."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from app.errors import RepoError
from app.repos.cache import RepoCache

from .conftest import SourceRepo, git
from .git_http import BlackHoleServer, GitHttpServer


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _serve_repo_with(root: Path, files: dict[str, bytes]) -> Path:
    """A bare repo under root/srv/repo.git whose one commit holds `files`."""
    work = root / "work"
    git("init", "-q", "-b", "main", work)
    for name, data in files.items():
        (work / name).write_bytes(data)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "files", cwd=work)
    git("clone", "-q", "--bare", "--no-local", work, root / "srv" / "repo.git")
    return root / "srv"


async def test_clone_from_a_hung_server_times_out_promptly(tmp_path: Path) -> None:
    cache = RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=1)
    loop = asyncio.get_running_loop()
    with BlackHoleServer() as hole:
        started = loop.time()
        with pytest.raises(RepoError, match=r"^clone timed out after 1 s$"):
            await cache.prepare(run_id="r", repo_url=f"{hole.base_url}/repo.git", ref=None)
        assert loop.time() - started < 6
        assert hole.accepted  # git really connected and waited
    assert list(cache.layout.mirrors.iterdir()) == []  # the partial clone is gone
    assert await asyncio.to_thread(_processes_mentioning, str(cache.layout.root)) == []


async def test_a_timed_out_fetch_leaves_a_usable_mirror(
    tmp_path: Path, source_repo: SourceRepo, git_server: GitHttpServer, repo_url: str
) -> None:
    cache = RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=1)
    assert await cache.prepare(run_id="r1", repo_url=repo_url, ref=None) == source_repo.main
    git_server.hanging.set()
    with pytest.raises(RepoError, match=r"^fetch timed out after 1 s$"):
        await cache.prepare(run_id="r2", repo_url=repo_url, ref=None)
    git_server.hanging.clear()
    assert await cache.prepare(run_id="r3", repo_url=repo_url, ref="v1") == source_repo.first


async def test_repository_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    served = await asyncio.to_thread(_serve_repo_with, tmp_path, {"blob.bin": os.urandom(600_000)})
    cache = RepoCache(tmp_path / "cache", allow_local=True, max_repo_bytes=200_000)
    with (
        GitHttpServer(served) as server,
        pytest.raises(RepoError, match="larger than the 200000-byte limit") as caught,
    ):
        await cache.prepare(run_id="r", repo_url=f"{server.base_url}/repo.git", ref=None)
    assert caught.value.details == {"field": "repo_url"}
    assert list(cache.layout.mirrors.iterdir()) == []


async def test_checkout_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    # 3 MB of zeros packs into a few KB: the mirror passes, the checkout does not.
    served = await asyncio.to_thread(_serve_repo_with, tmp_path, {"zeros": bytes(3_000_000)})
    cache = RepoCache(tmp_path / "cache", allow_local=True, max_repo_bytes=1_000_000)
    with GitHttpServer(served) as server:
        base = await cache.prepare(run_id="r", repo_url=f"{server.base_url}/repo.git", ref=None)
    with pytest.raises(RepoError, match="larger than the 1000000-byte limit"):
        await cache.add_worktree(run_id="r", variation_id=0, base_sha=base)
    assert not cache.workspace_path("r", 0).exists()


async def test_redirects_are_not_followed(tmp_path: Path, git_server: GitHttpServer) -> None:
    cache = RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=10)
    with GitHttpServer(tmp_path, redirect_to=git_server.base_url) as redirector:
        with pytest.raises(RepoError) as caught:
            await cache.prepare(run_id="r", repo_url=f"{redirector.base_url}/repo.git", ref=None)
        assert redirector.requests  # git asked the redirecting server ...
    assert git_server.requests == []  # ... and never followed it to the real one
    assert "clone failed" in caught.value.message and "302" in caught.value.message


async def test_pinned_addresses_are_the_ones_git_connects_to(
    tmp_path: Path, git_server: GitHttpServer, source_repo: SourceRepo
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        assert host == "git.example.test"
        return ["127.0.0.1"]

    # The name exists nowhere but in the resolver: the clone only works if git uses its answer.
    cache = RepoCache(tmp_path / "cache", allow_local=True, resolver=resolver)
    port = git_server.server_address[1]
    url = f"http://git.example.test:{port}/repo.git"
    assert await cache.prepare(run_id="r", repo_url=url, ref=None) == source_repo.main
    assert {host for _, _, host in git_server.requests} == {f"git.example.test:{port}"}


async def test_host_resolving_to_a_private_address_is_never_contacted(
    tmp_path: Path, git_server: GitHttpServer
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    cache = RepoCache(tmp_path / "cache", resolver=resolver)
    with pytest.raises(RepoError, match="resolves to a loopback address"):
        await cache.prepare(run_id="r", repo_url="https://git.example.com/repo.git", ref=None)
    assert git_server.requests == []


def _hook_setup(root: Path) -> tuple[Path, dict[str, str]]:
    """Hooks that write a marker file, wired up every way git's environment allows."""
    marker = root / "hook-ran"
    hooks = root / "hooks"
    hooks.mkdir(parents=True)
    for name in ("post-checkout", "reference-transaction", "post-merge", "pre-auto-gc"):
        (hooks / name).write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        (hooks / name).chmod(0o755)
    template = root / "template"
    shutil.copytree(hooks, template / "hooks")
    home = root / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
    env = {"GIT_TEMPLATE_DIR": str(template), "HOME": str(home)}
    return marker, env


async def test_hooks_never_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source_repo: SourceRepo,
    git_server: GitHttpServer,
    repo_url: str,
) -> None:
    marker, hook_env = await asyncio.to_thread(_hook_setup, tmp_path / "evil")
    for key, value in hook_env.items():
        monkeypatch.setenv(key, value)
    cache = RepoCache(tmp_path / "cache", allow_local=True)
    base = await cache.prepare(run_id="r1", repo_url=repo_url, ref=None)
    # A tampered mirror config naming a hooks directory is overridden too.
    (mirror,) = cache.layout.mirrors.iterdir()
    with (mirror / "config").open("a") as config:
        config.write(f"[core]\n\thooksPath = {tmp_path / 'evil' / 'hooks'}\n")
    # Drop a branch so the next fetch must update refs (which runs reference-transaction).
    await asyncio.to_thread(git, "update-ref", "-d", "refs/heads/feature", cwd=mirror)
    marker.unlink(missing_ok=True)
    base = await cache.prepare(run_id="r2", repo_url=repo_url, ref="feature")
    tree = await cache.add_worktree(run_id="r2", variation_id=0, base_sha=base)
    assert (tree / "feature.txt").exists()
    assert not marker.exists()
    # Controls: the same environment and mirror config do run these hooks for a plain git.
    await asyncio.to_thread(git, "update-ref", "-d", "refs/heads/feature", cwd=mirror)
    assert "reference-transaction" in marker.read_text()
    plain_env = dict(hook_env, GIT_CONFIG_GLOBAL=f"{hook_env['HOME']}/.gitconfig")
    await asyncio.to_thread(git, "clone", "-q", repo_url, tmp_path / "plain", env=plain_env)
    assert "post-checkout" in marker.read_text()


def _repo_with_submodule(root: Path, submodule_url: str) -> Path:
    """A served repo whose tree has a gitlink and a .gitmodules naming `submodule_url`."""
    work = root / "work"
    git("init", "-q", "-b", "main", work)
    (work / "README.md").write_text("outer\n")
    (work / ".gitmodules").write_text(f'[submodule "sub"]\n\tpath = sub\n\turl = {submodule_url}\n')
    git("add", "-A", cwd=work)
    git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},sub", cwd=work)
    git("commit", "-qm", "with submodule", cwd=work)
    git("clone", "-q", "--bare", "--no-local", work, root / "srv" / "repo.git")
    return root / "srv"


async def test_submodules_are_never_fetched(
    tmp_path: Path, git_server: GitHttpServer, repo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = await asyncio.to_thread(_repo_with_submodule, tmp_path, repo_url)
    user_config = tmp_path / "gitconfig"
    user_config.write_text("[submodule]\n\trecurse = true\n[protocol]\n\tallow = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user_config))  # a user who wants submodules
    cache = RepoCache(tmp_path / "cache", allow_local=True)
    with GitHttpServer(served) as outer:
        base = await cache.prepare(run_id="r", repo_url=f"{outer.base_url}/repo.git", ref=None)
    tree = await cache.add_worktree(run_id="r", variation_id=0, base_sha=base)
    assert (tree / "README.md").read_text() == "outer\n"
    sub = tree / "sub"
    assert not sub.exists() or not any(sub.iterdir())
    assert git_server.requests == []  # the submodule's server was never asked
