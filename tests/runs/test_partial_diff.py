"""The host computes a stopped agent's diff without running anything the agent configured."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.runs.partial_diff import partial_diff


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_workspace(root: Path) -> tuple[Path, str]:
    ws = root / "ws"
    ws.mkdir()
    git(ws, "init", "-q")
    (ws / "a.txt").write_text("one\n")
    git(ws, "add", "-A")
    git(ws, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    return ws, git(ws, "rev-parse", "HEAD")


async def test_the_diff_of_what_the_agent_left(tmp_path: Path) -> None:
    ws, base = make_workspace(tmp_path)
    (ws / "a.txt").write_text("two\n")
    (ws / "new.txt").write_text("new\n")
    found = await partial_diff(ws, base, None)
    assert found is not None
    assert "+two" in found.diff and "new.txt" in found.diff
    assert (found.files, found.insertions, found.deletions) == (2, 2, 1)


async def test_filters_and_hooks_the_agent_configured_never_run(tmp_path: Path) -> None:
    ws, base = make_workspace(tmp_path)
    marker = tmp_path / "ran-on-host"
    # A hostile agent defines a clean filter, an fsmonitor hook and a pre-commit hook.
    git(ws, "config", "filter.evil.clean", f"touch {marker}; cat")
    git(ws, "config", "core.fsmonitor", f"touch {marker}; true")
    (ws / ".gitattributes").write_text("* filter=evil\n")
    (ws / "a.txt").write_text("changed\n")
    found = await partial_diff(ws, base, None)
    assert found is not None
    assert "+changed" in found.diff
    assert not marker.exists()


async def test_a_git_directory_that_is_a_link_is_not_used(tmp_path: Path) -> None:
    ws, base = make_workspace(tmp_path)
    (ws / ".git").rename(tmp_path / "elsewhere")
    (ws / ".git").symlink_to(tmp_path / "elsewhere")
    assert await partial_diff(ws, base, None) is None
