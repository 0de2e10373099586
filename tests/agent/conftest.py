"""Fixtures for the agent program tests: temporary git repositories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from agent_harness import git


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Create a git repo with the given files committed; return its path."""

    def make(files: dict[str, str | bytes]) -> Path:
        repo = tmp_path / f"repo{len(list(tmp_path.iterdir()))}"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        for name, content in files.items():
            path = repo / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", "base")
        return repo

    return make


@pytest.fixture
def repo(make_repo: Callable[[dict[str, str | bytes]], Path]) -> Path:
    """A small committed repo: calc.py and README.md."""
    return make_repo({"calc.py": "def add(a, b):\n    return a - b\n", "README.md": "# calc\n"})
