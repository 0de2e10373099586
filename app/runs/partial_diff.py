"""The diff a stopped agent left in its working tree (same code as the agent's own diff)."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.runners.agent_launch import AGENT_SRC

log = structlog.get_logger()

TIMEOUT_SECONDS = 60.0
# Runs the agent program's own `compute_diff` (git add -A, diff against base, binary-safe,
# only the agent's changes when setup ran) in a child interpreter: the server never imports
# the agent package.
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
    argv = [sys.executable, "-I", "-c", _PROGRAM, str(AGENT_SRC), str(workspace), base_sha]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        setup_tree or "",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
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
