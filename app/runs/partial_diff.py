"""The diff a stopped agent left in its working tree (same code as the agent's own diff)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.package_files import agent_source_dir

log = structlog.get_logger()

TIMEOUT_SECONDS = 60.0
# Runs the agent program's own `compute_diff` (git add -A, diff against base, binary-safe,
# only the agent's changes when setup ran) in a child interpreter: the server never imports
# the agent package. The agent wrote the workspace's `.git` (config, hooks, attributes
# drivers), so git on the host never uses it as a repository: a fresh git directory of our
# own borrows its objects read-only (alternates) and the workspace is only the work tree.
_PROGRAM = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from aideator_agent.git_diff import compute_diff
result = asyncio.run(compute_diff(Path(sys.argv[2]), sys.argv[3], sys.argv[4] or None))
print(json.dumps({"diff": result.diff, "stats": result.stats}))
"""


@dataclass(frozen=True)
class PartialDiff:
    """What an agent had changed when it was stopped."""

    diff: str
    files: int
    insertions: int
    deletions: int


async def partial_diff(
    workspace: Path, base_sha: str, setup_tree: str | None
) -> PartialDiff | None:
    """The working tree's change against `base_sha`, or None when it cannot be computed."""
    objects = workspace / ".git" / "objects"
    if (workspace / ".git").is_symlink() or not objects.is_dir() or objects.is_symlink():
        log.warning("partial_diff.no_repository", workspace=str(workspace))
        return None
    with tempfile.TemporaryDirectory(prefix="aideator-partial-") as scratch:
        git_dir = Path(scratch) / "git"
        if not await _fresh_git_dir(git_dir, objects):
            return None
        env = {
            **os.environ,
            "GIT_DIR": str(git_dir),
            "GIT_WORK_TREE": str(workspace),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        return await _run_compute_diff(workspace, base_sha, setup_tree, env)


async def _fresh_git_dir(git_dir: Path, objects: Path) -> bool:
    """An empty bare repository of ours that reads the workspace's objects, nothing else."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-c",
        "init.templateDir=",
        "init",
        "-q",
        "--bare",
        str(git_dir),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if await proc.wait() != 0:
        return False
    await asyncio.to_thread(_borrow_objects, git_dir, objects)
    return True


def _borrow_objects(git_dir: Path, objects: Path) -> None:
    info = git_dir / "objects" / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "alternates").write_text(f"{objects.resolve()}\n")


async def _run_compute_diff(
    workspace: Path, base_sha: str, setup_tree: str | None, env: dict[str, str]
) -> PartialDiff | None:
    argv = [sys.executable, "-I", "-c", _PROGRAM, str(agent_source_dir()), str(workspace), base_sha]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        setup_tree or "",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        log.warning("partial_diff.timed_out", workspace=str(workspace))
        return None
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()
        log.warning("partial_diff.failed", error=tail[-1] if tail else proc.returncode)
        return None
    data = json.loads(out)
    stats = data["stats"]
    return PartialDiff(data["diff"], stats["files"], stats["insertions"], stats["deletions"])
