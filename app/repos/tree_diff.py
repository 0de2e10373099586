"""The diff between two variations' resulting trees, built in a scratch repository.

The scratch repository is a fresh bare one of our own that borrows the mirror's objects
(objects/info/alternates): nothing is written to the mirror, and no git directory an agent
wrote is ever read. Each patch is applied with `git apply --cached` onto base_sha in a
temporary index, `write-tree` names the result, and `git diff` compares the two trees.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from pathlib import Path

from app.errors import RepoError
from app.repos.cache import RemoteAccess
from app.repos.git_process import GitSettings, run_git, run_git_status


class PatchCannotApply(RepoError):
    """A variation's stored diff does not apply to the run's base commit."""

    status_code = 409
    code = "patch_does_not_apply"


def _make_scratch(folder: Path, mirror: Path) -> Path:
    """A bare repository in `folder` whose object store falls back to the mirror's."""
    git_dir = folder / "scratch.git"
    for sub in ("objects/info", "refs"):
        (git_dir / sub).mkdir(parents=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n", "utf-8")
    (git_dir / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = true\n")
    (git_dir / "objects/info/alternates").write_text(f"{mirror.absolute() / 'objects'}\n")
    return git_dir


async def _tree_of(
    repo: list[str], folder: Path, settings: GitSettings, seconds: float, *,
    base_sha: str, variation_id: int, patch: str,
) -> str:  # fmt: skip
    """The tree of base_sha with `patch` applied (base_sha's own tree for an empty patch)."""
    if not patch:
        out = await run_git([*repo, "rev-parse", f"{base_sha}^{{tree}}"], settings=settings,
                            what="reading the base tree", limit_seconds=seconds)  # fmt: skip
        return out.strip()
    env = {"GIT_INDEX_FILE": str(folder / f"v{variation_id}.index")}
    patch_file = folder / f"v{variation_id}.patch"
    await asyncio.to_thread(patch_file.write_text, patch, "utf-8")
    await run_git([*repo, "read-tree", base_sha], settings=settings,
                  what="reading the base tree", limit_seconds=seconds, extra_env=env)  # fmt: skip
    apply = [*repo, "apply", "--cached", "--binary", "--whitespace=nowarn", "--", str(patch_file)]
    code, _, stderr = await run_git_status(apply, settings=settings, what="applying the diff",
                                           limit_seconds=seconds, extra_env=env)  # fmt: skip
    if code != 0:
        reason = stderr.decode("utf-8", "replace").strip().splitlines()[:3]
        raise PatchCannotApply(
            f"variation {variation_id}'s diff does not apply to the base commit: "
            + "; ".join(reason),
            details={"variation_id": variation_id},
        )
    out = await run_git([*repo, "write-tree"], settings=settings, what="writing the tree",
                        limit_seconds=seconds, extra_env=env)  # fmt: skip
    return out.strip()


async def diff_between(
    access: RemoteAccess, *, base_sha: str, patches: dict[int, str], old: int, new: int
) -> str:
    """Unified diff from variation `old`'s tree to variation `new`'s (patches keyed by id)."""
    local = dataclasses.replace(access.settings, credential=None)
    seconds = access.limit_seconds
    with tempfile.TemporaryDirectory(prefix="aideator-interdiff-") as tmp:
        folder = Path(tmp)
        git_dir = await asyncio.to_thread(_make_scratch, folder, access.mirror)
        repo = ["--git-dir", str(git_dir)]
        trees = {
            n: await _tree_of(
                repo, folder, local, seconds, base_sha=base_sha, variation_id=n, patch=patches[n]
            )
            for n in dict.fromkeys((old, new))
        }
        return await run_git(
            [*repo, "diff", "--binary", "--no-color", "--no-ext-diff", trees[old], trees[new]],
            settings=local,
            what="comparing the two trees",
            limit_seconds=seconds,
        )
