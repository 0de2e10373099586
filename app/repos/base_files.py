"""Reading a base commit's files straight from a mirror's objects (no checkout)."""

from __future__ import annotations

from pathlib import Path

from app.repos.git_process import GitSettings, run_git_status


async def read_blob(
    mirror: Path, base_sha: str, path: str, *, settings: GitSettings, limit_seconds: float
) -> str | None:
    """A file's text at base_sha; None if absent."""
    code, out, _ = await run_git_status(
        ["--git-dir", str(mirror), "cat-file", "blob", f"{base_sha}:{path}"],
        settings=settings,
        what="reading a file",
        limit_seconds=limit_seconds,
    )
    return out if code == 0 else None


async def list_blobs(
    mirror: Path,
    base_sha: str,
    folders: tuple[str, ...],
    *,
    settings: GitSettings,
    limit_seconds: float,
) -> list[str]:
    """Paths of the files directly in these folders at base_sha."""
    # One git call: a pathspec per folder ("./" is the root; absent folders match nothing).
    specs = [f"{folder}/" if folder else "./" for folder in folders]
    code, out, _ = await run_git_status(
        ["--git-dir", str(mirror), "ls-tree", "-z", base_sha, "--", *specs],
        settings=settings,
        what="listing files",
        limit_seconds=limit_seconds,
    )
    names: list[str] = []
    if code != 0:
        return names
    for entry in out.split("\0"):
        meta, _, name = entry.partition("\t")
        if name and meta.split(" ")[1:2] == ["blob"] and name.rpartition("/")[0] in folders:
            names.append(name)
    return names
