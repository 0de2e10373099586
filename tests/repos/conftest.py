"""Fixtures: a real test repository, served over real git HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .git_http import GitHttpServer

GIT_ENV = {
    "PATH": os.defpath,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "LC_ALL": "C",
}


def git(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run git for test setup (blocking; fixtures only) and return its stdout."""
    result = subprocess.run(
        ["git", *map(str, args)],
        cwd=cwd,
        env={**GIT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@dataclass(frozen=True)
class SourceRepo:
    """A repository with known history, as a working copy and as a served bare repo."""

    work: Path
    bare: Path
    first: str  # commit tagged v1 (annotated)
    main: str  # tip of main, the default branch
    feature: str  # tip of branch feature
    hidden: str  # commit only reachable from refs/pull/1/head


def build_source_repo(root: Path) -> SourceRepo:
    """Create the test repository under root/work and its bare copy root/srv/repo.git."""
    work = root / "work"
    git("init", "-q", "-b", "main", work)
    (work / "README.md").write_text("hello\n")
    (work / "src").mkdir()
    (work / "src" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work)
    git("tag", "-a", "v1", "-m", "release 1", cwd=work)
    git("switch", "-qc", "feature", cwd=work)
    (work / "feature.txt").write_text("feature\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "feature", cwd=work)
    feature = git("rev-parse", "HEAD", cwd=work)
    git("switch", "-q", "main", cwd=work)
    (work / "README.md").write_text("hello\nworld\n")
    git("commit", "-qam", "second", cwd=work)
    main = git("rev-parse", "HEAD", cwd=work)
    git("switch", "-q", "--detach", first, cwd=work)
    (work / "pr.txt").write_text("pull request\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "pr", cwd=work)
    hidden = git("rev-parse", "HEAD", cwd=work)
    git("update-ref", "refs/pull/1/head", hidden, cwd=work)
    git("switch", "-q", "main", cwd=work)
    bare = root / "srv" / "repo.git"
    git("clone", "-q", "--bare", "--no-local", work, bare)
    git("fetch", "-q", work, "refs/pull/1/head:refs/pull/1/head", cwd=bare)
    git("config", "uploadpack.allowReachableSHA1InWant", "true", cwd=bare)
    return SourceRepo(work=work, bare=bare, first=first, main=main, feature=feature, hidden=hidden)


@pytest.fixture(scope="module")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> SourceRepo:
    """The shared test repository (read-only for tests; build your own to change it)."""
    return build_source_repo(tmp_path_factory.mktemp("source"))


@pytest.fixture
def git_server(source_repo: SourceRepo) -> Iterator[GitHttpServer]:
    """A git smart-HTTP server on 127.0.0.1 serving the test repository as /repo.git."""
    with GitHttpServer(source_repo.bare.parent) as server:
        yield server


@pytest.fixture
def repo_url(git_server: GitHttpServer) -> str:
    """The test repository's URL on the test server."""
    return f"{git_server.base_url}/repo.git"
