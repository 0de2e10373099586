"""One variation's working tree: a self-contained copy of the mirror checked out at base_sha.

Why a plain local clone with `--no-hardlinks`: `git worktree` and `--shared`/alternates keep
a pointer to the mirror outside the directory, so git breaks in a sandbox that mounts only
the workspace; hardlinked object files would be one inode shared by every variation and the
mirror, so an agent that chmods and rewrites one could corrupt the others.
"""

from __future__ import annotations

from pathlib import Path

from app.repos.git_process import GitSettings, run_git

WORK_BRANCH = "aideator"
AGENT_IDENTITY = (("user.name", "AIdeator agent"), ("user.email", "agent@aideator.invalid"))


async def copy_repository(
    mirror: Path, workspace: Path, *, settings: GitSettings, limit_seconds: float
) -> None:
    """Copy the mirror's objects into a new repository at `workspace` (no checkout yet)."""
    identity = [arg for key, value in AGENT_IDENTITY for arg in ("--config", f"{key}={value}")]
    template = f"--template={settings.template_dir}"
    # No size watch: the copy is no bigger than the mirror, which every fetch keeps in limit.
    await run_git(
        ["clone", "--quiet", "--no-checkout", "--no-hardlinks", template, *identity, "--",
         str(mirror), str(workspace)],
        settings=settings,
        what="workspace copy",
        limit_seconds=limit_seconds,
    )  # fmt: skip


async def check_out(
    workspace: Path,
    base_sha: str,
    *,
    settings: GitSettings,
    limit_seconds: float,
    max_bytes: int,
    copied_bytes: int,
) -> None:
    """Drop the link back to the mirror and check out base_sha on a fresh branch.

    The checked-out files may add up to `max_bytes` on top of the copied objects.
    """
    await run_git(
        ["-C", str(workspace), "remote", "remove", "origin"],
        settings=settings,
        what="workspace setup",
        limit_seconds=limit_seconds,
    )
    # Watched: a small pack can inflate into a huge tree (a "zip bomb" of repeated bytes).
    await run_git(
        ["-C", str(workspace), "checkout", "--quiet", "--no-recurse-submodules",
         "-B", WORK_BRANCH, base_sha, "--"],
        settings=settings,
        what="checkout",
        limit_seconds=limit_seconds,
        watch=workspace,
        max_bytes=max_bytes,
        baseline_bytes=copied_bytes,
    )  # fmt: skip
