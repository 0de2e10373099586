"""Git in the workspace: resolve the base commit and compute the change against it."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

# Hooks, fsmonitor and external diff drivers would run code from the workspace's own
# config; the workspace may also belong to another uid.
_GIT_CONFIG = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "safe.directory=*",
    "-c", "core.fsmonitor=false",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "core.quotePath=false",
)  # fmt: skip
_DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--no-textconv")
GIT_TIMEOUT = 120.0


class GitError(Exception):
    """A git command failed in the workspace."""


@dataclass
class DiffResult:
    """The change against the base commit."""

    diff: str = ""
    stats: dict[str, int] = field(
        default_factory=lambda: {"files": 0, "insertions": 0, "deletions": 0}
    )


def git_env() -> dict[str, str]:
    """Environment for git: no prompts, a fixed identity, no pager."""
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        GIT_AUTHOR_NAME=env.get("GIT_AUTHOR_NAME", "aideator-agent"),
        GIT_AUTHOR_EMAIL=env.get("GIT_AUTHOR_EMAIL", "agent@aideator.invalid"),
        GIT_COMMITTER_NAME=env.get("GIT_COMMITTER_NAME", "aideator-agent"),
        GIT_COMMITTER_EMAIL=env.get("GIT_COMMITTER_EMAIL", "agent@aideator.invalid"),
    )
    return env


async def run_git(
    workdir: Path, *args: str, stdin: bytes | None = None, index: Path | None = None
) -> bytes:
    """Run one git command in `workdir` (with another index file if given); return stdout."""
    env = git_env()
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    process = await asyncio.create_subprocess_exec(
        "git",
        *_GIT_CONFIG,
        *args,
        cwd=workdir,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(GIT_TIMEOUT):
            out, err = await process.communicate(stdin)
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise GitError(f"git {args[0]} timed out") from exc
    if process.returncode != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else process.returncode}")
    return out


async def resolve_base(workdir: Path, base_sha: str | None) -> str:
    """Return the full commit id of `base_sha` (default HEAD; empty tree in a new repo)."""
    await run_git(workdir, "rev-parse", "--is-inside-work-tree")
    if base_sha:
        out = await run_git(
            workdir, "rev-parse", "--verify", "--end-of-options", f"{base_sha}^{{commit}}"
        )
        return out.decode().strip()
    try:
        return (await run_git(workdir, "rev-parse", "--verify", "HEAD^{commit}")).decode().strip()
    except GitError:
        # A repository without commits: diff against the empty tree.
        out = await run_git(workdir, "hash-object", "-t", "tree", "--stdin", stdin=b"")
        return out.decode().strip()


def parse_numstat(numstat: str) -> dict[str, int]:
    """Sum `git diff --numstat` output; binary files count as files with 0/0."""
    files = insertions = deletions = 0
    for row in numstat.splitlines():
        parts = row.split("\t", 2)
        if len(parts) != 3:
            continue
        files += 1
        insertions += int(parts[0]) if parts[0].isdigit() else 0
        deletions += int(parts[1]) if parts[1].isdigit() else 0
    return {"files": files, "insertions": insertions, "deletions": deletions}


async def compute_diff(workdir: Path, base: str, setup_tree: str | None = None) -> DiffResult:
    """Stage everything (`git add -A`) and diff the index against `base`, binary-safe.

    With `setup_tree` (the workspace as setup left it), only the paths the agent changed
    since setup count: their content is diffed against `base`, so the patch still applies
    to `base` (a file setup made and the agent edited arrives whole) and holds nothing
    setup made that the agent left alone.
    """
    await run_git(workdir, "add", "-A")
    index = None
    if setup_tree:
        index = await _agent_only_index(workdir, base, setup_tree)
    try:
        diff = await run_git(
            workdir, "diff", "--cached", "--binary", *_DIFF_FLAGS, base, "--", index=index
        )
        numstat = await run_git(
            workdir, "diff", "--cached", "--numstat", *_DIFF_FLAGS, base, "--", index=index
        )
    finally:
        if index is not None:
            index.unlink(missing_ok=True)
    return DiffResult(
        diff=diff.decode("utf-8", "replace"),
        stats=parse_numstat(numstat.decode("utf-8", "replace")),
    )


def _index_info(changes: bytes) -> bytes:
    """`diff-tree -r -z` records -> `update-index -z --index-info` records (new side)."""
    fields = changes.split(b"\0")
    records = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(b":"):
            continue
        _, new_mode, _, new_id, status = meta[1:].split(b" ")
        if status.startswith(b"D"):
            records.append(b"0 " + b"0" * 40 + b"\t" + path)
        else:
            records.append(new_mode + b" " + new_id + b"\t" + path)
    return b"".join(record + b"\0" for record in records)


async def _agent_only_index(workdir: Path, base: str, setup_tree: str) -> Path:
    """A scratch index: `base`, plus the paths that differ between setup's tree and now."""
    now = (await run_git(workdir, "write-tree")).decode().strip()
    changes = await run_git(
        workdir, "diff-tree", "-r", "-z", "--no-renames", "--full-index", setup_tree, now
    )
    git_dir = (await run_git(workdir, "rev-parse", "--absolute-git-dir")).decode().strip()
    index = Path(git_dir) / "aideator-agent-index"
    await run_git(workdir, "read-tree", base, index=index)
    info = _index_info(changes)
    if info:
        await run_git(workdir, "update-index", "-z", "--index-info", stdin=info, index=index)
    return index
