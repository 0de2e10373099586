"""A variation's diff after setup: only the agent's changes, and it applies to the base."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

from agent_harness import git
from aideator_agent.git_diff import compute_diff, run_git


def _setup(repo: Path) -> str:
    """What a setup command leaves behind, snapshotted like the host does it."""
    (repo / ".venv" / "lib").mkdir(parents=True)
    (repo / ".venv" / "lib" / "installed.py").write_text("x = 1\n" * 500)
    (repo / "generated.txt").write_text("made by setup\n")
    (repo / "scratch.txt").write_text("setup scratch\n")
    (repo / "lock.txt").write_text("pinned by setup\n")  # a tracked file setup rewrote
    git(repo, "add", "-A")
    return git(repo, "write-tree").strip()


def _base(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def _diff(repo: Path, setup_tree: str | None) -> tuple[str, dict[str, int]]:
    result = asyncio.run(compute_diff(repo, _base(repo), setup_tree))
    return result.diff, result.stats


def test_setup_output_stays_out_and_the_patch_applies_to_base(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    repo = make_repo({"app.py": "print(1)\n", "lock.txt": "original\n"})
    tree = _setup(repo)
    (repo / "app.py").write_text("print(2)\n")  # the agent's edit
    (repo / "new.txt").write_text("agent file\n")  # a new file
    (repo / "generated.txt").write_text("made by setup\nedited by the agent\n")
    (repo / "scratch.txt").unlink()  # the agent removed something setup made
    diff, stats = _diff(repo, tree)
    changed = {line.split(" b/")[-1] for line in diff.splitlines() if line.startswith("diff --git")}
    assert changed == {"app.py", "new.txt", "generated.txt"}
    assert ".venv" not in diff and "pinned by setup" not in diff
    assert stats["files"] == 3
    # A fresh checkout of the base takes the patch.
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", str(repo), str(fresh)], check=True)
    subprocess.run(["git", "-C", str(fresh), "checkout", "-q", _base(repo)], check=True)
    applied = subprocess.run(
        ["git", "-C", str(fresh), "apply", "--binary", "-"], input=diff.encode(), check=False
    )
    assert applied.returncode == 0
    assert (fresh / "generated.txt").read_text().endswith("edited by the agent\n")
    assert not (fresh / ".venv").exists() and (fresh / "lock.txt").read_text() == "original\n"


def test_without_a_setup_tree_everything_counts(
    make_repo: Callable[[dict[str, str | bytes]], Path],
) -> None:
    repo = make_repo({"app.py": "print(1)\n", "lock.txt": "original\n"})
    _setup(repo)
    diff, stats = _diff(repo, None)
    assert ".venv/lib/installed.py" in diff and stats["files"] == 4


def test_agent_that_changes_nothing_has_an_empty_diff(
    make_repo: Callable[[dict[str, str | bytes]], Path],
) -> None:
    repo = make_repo({"app.py": "print(1)\n", "lock.txt": "original\n"})
    tree = _setup(repo)
    diff, stats = _diff(repo, tree)
    assert diff == "" and stats == {"files": 0, "insertions": 0, "deletions": 0}
    # The scratch index is gone; the workspace's own index is untouched.
    git_dir = asyncio.run(run_git(repo, "rev-parse", "--absolute-git-dir")).decode().strip()
    assert not (Path(git_dir) / "aideator-agent-index").exists()
