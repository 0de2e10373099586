"""One commit holding exactly a variation's diff on top of base_sha, built in the mirror.

Only the host's own bare mirror is touched (a temporary index file, `git apply --cached`):
never a workspace an agent has written, whose git config could run commands on the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import secrets
from pathlib import Path

from app.errors import RepoError
from app.repos.cache import RemoteAccess
from app.repos.git_process import run_git, run_git_status
from app.repos.mirror import sync_mirror

AUTHOR_NAME = "AIdeator agent"
AUTHOR_EMAIL = "agent@aideator.invalid"
# git apply's ways of naming a file it could not patch.
_FAILED_PATH = re.compile(
    r"^error: (?:patch failed: (.+?):\d+|(.+?): (?:patch does not apply|does not exist in index"
    r"|already exists in index|already exists in working directory))$",
    re.MULTILINE,
)


class PatchDoesNotApply(RepoError):
    """The variation's diff no longer applies to its base commit."""

    status_code = 409
    code = "patch_does_not_apply"


async def ensure_base(access: RemoteAccess, base_sha: str) -> None:
    """Fetch the mirror when base_sha is missing (a cleared cache); call under access.lock."""
    local = dataclasses.replace(access.settings, credential=None)
    if await asyncio.to_thread(access.mirror.is_dir):
        code, _, _ = await run_git_status(
            ["-C", str(access.mirror), "cat-file", "-e", f"{base_sha}^{{commit}}"],
            settings=local,
            what="looking up the base commit",
            limit_seconds=60,
        )
        if code == 0:
            return
    await sync_mirror(
        access.checked,
        access.mirror,
        settings=access.settings,
        limit_seconds=access.limit_seconds,
        max_bytes=access.max_bytes,
    )


def failed_files(message: str) -> list[str]:
    """The files git apply's stderr says it could not patch, sorted."""
    return sorted({(m.group(1) or m.group(2)).strip() for m in _FAILED_PATH.finditer(message)})


async def build_commit(access: RemoteAccess, *, base_sha: str, patch: str, message: str) -> str:
    """Create the commit (author "AIdeator agent") in the mirror; return its sha."""
    local = dataclasses.replace(access.settings, credential=None)
    token = secrets.token_hex(6)
    index = access.mirror.parent / f".delivery-{token}.index"
    patch_file = access.mirror.parent / f".delivery-{token}.patch"
    env = {
        "GIT_INDEX_FILE": str(index),
        "GIT_AUTHOR_NAME": AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
    }
    repo = ["-C", str(access.mirror)]
    seconds = access.limit_seconds
    await asyncio.to_thread(patch_file.write_text, patch, "utf-8")
    try:
        await run_git([*repo, "read-tree", base_sha], settings=local, what="reading the base tree",
                      limit_seconds=seconds, extra_env=env)  # fmt: skip
        code, _, stderr = await run_git_status(
            [*repo, "apply", "--cached", "--binary", "--whitespace=nowarn", "--", str(patch_file)],
            settings=local, what="applying the diff", limit_seconds=seconds, extra_env=env,
        )  # fmt: skip
        if code != 0:
            text = stderr.decode("utf-8", "replace")
            files = failed_files(text) or ["(see the diff)"]
            raise PatchDoesNotApply(
                "the variation's diff no longer applies to its base commit: " + ", ".join(files),
                details={"files": files},
            )
        tree = (await run_git([*repo, "write-tree"], settings=local, what="writing the tree",
                              limit_seconds=seconds, extra_env=env)).strip()  # fmt: skip
        await asyncio.to_thread(patch_file.write_text, message, "utf-8")
        commit = await run_git(
            [*repo, "commit-tree", tree, "-p", base_sha, "-F", str(patch_file)],
            settings=local, what="creating the commit", limit_seconds=seconds, extra_env=env,
        )  # fmt: skip
        return commit.strip()
    finally:
        for path in (index, patch_file):
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(Path.unlink, path)
