"""A local folder that is not a git repository's root becomes a repository: one base commit.

The rule (the same for the server, the CLI and the Dagger module): a git repository's root
is used as it is, at the commit `ref` names. Anything else — a plain folder, or a subfolder
of a repository — is snapshotted: its files as they are on disk, without what `.gitignore`
files ignore (the enclosing repository's too), without `.git`, virtualenvs, `node_modules`
and caches, and without symlinks that point outside the folder. The snapshot is one commit
with a fixed author and date, so the same files always give the same `base_sha`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from app.errors import RepoError
from app.repos.directories import remove_tree
from app.repos.git_process import GitSettings, run_git, run_git_status
from app.repos.layout import PARTIAL_MARK, CacheLayout

SNAPSHOT_REF = "refs/heads/main"
SKIPPED_DIRS = (
    ".git",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".cache",
)
# Fixed author, committer and date: the commit id depends on the files only.
_SIGNATURE = "AIdeator snapshot <snapshot@aideator.invalid> 0 +0000"
_GIT_CONFIG = (("core.autocrlf", "false"), ("core.symlinks", "true"))


@dataclass(frozen=True)
class Snapshot:
    """A folder's files as one commit in a bare repository."""

    commit: str
    tree: str  # the git tree id: a hash of exactly the snapshotted files
    files: int
    bytes: int


def is_repository_root(folder: Path) -> bool:
    """True when the folder is a git work tree's root (it has its own `.git`)."""
    return (folder / ".git").exists()


def _outside(link: Path, folder: Path) -> bool:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):
        return True  # a loop or an unreadable link: never follow it
    return not target.is_relative_to(folder)


def skipped_paths(folder: Path) -> list[str]:
    """Folder-relative paths to leave out besides `.gitignore`'s: venvs, nested repos, links."""
    folder = folder.resolve()
    skipped: list[str] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        keep: list[str] = []
        for name in dirs:
            path = here / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                if _outside(path, folder):
                    skipped.append(rel)
            elif name in SKIPPED_DIRS or (path / "pyvenv.cfg").exists():
                skipped.append(rel)
            elif (path / ".git").exists():
                skipped.append(rel)  # a nested repository would become a gitlink, not files
            else:
                keep.append(name)
        dirs[:] = keep
        for name in files:
            path = here / name
            if path.is_symlink() and _outside(path, folder):
                skipped.append(path.relative_to(folder).as_posix())
    return skipped


def _exclude_lines(paths: list[str]) -> str:
    def quoted(path: str) -> str:
        # Anchored, literal: gitignore syntax treats these characters specially.
        escaped = "".join(f"\\{c}" if c in "\\*?[!# " else c for c in path)
        return f"/{escaped}"

    names = [f"{name}/" for name in SKIPPED_DIRS]
    return "\n".join([*names, *(quoted(p) for p in paths)]) + "\n"


async def _enclosing_ignored(folder: Path, settings: GitSettings, seconds: float) -> list[str]:
    """What the enclosing repository's ignore rules ignore inside `folder` (none: not in one)."""
    code, out, _ = await run_git_status(
        ["-C", str(folder), "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
         "--directory", "--no-empty-directory"],
        settings=settings,
        what="listing ignored files",
        limit_seconds=seconds,
    )  # fmt: skip
    if code != 0:
        return []  # not inside a work tree (or one git refuses): only the folder's own rules
    return [entry.rstrip("/") for entry in out.split("\0") if entry]


def _sizes(folder: Path, names: list[str]) -> int:
    total = 0
    for name in names:
        try:
            total += (folder / name).lstat().st_size
        except OSError:
            continue
    return total


async def snapshot_folder(
    folder: Path,
    git_dir: Path,
    *,
    settings: GitSettings,
    max_bytes: int,
    limit_seconds: float,
    commit: bool = True,
) -> Snapshot:
    """Write the folder's files into the new bare repository `git_dir` (see module doc).

    Raises RepoError (422, field `repo_url`) when the files pass `max_bytes`. With
    `commit=False` only the files are listed and measured (nothing is written but the
    empty repository).
    """
    folder = await asyncio.to_thread(folder.resolve)
    try:
        skipped = await asyncio.to_thread(skipped_paths, folder)
    except OSError as exc:  # e.g. a folder inside it the server may not read
        raise RepoError(
            f"cannot read {exc.filename or folder}: {exc.strerror or exc}; snapshot a folder "
            "the server can read, or add the unreadable part to .gitignore",
            details={"field": "repo_url"},
        ) from None
    skipped += await _enclosing_ignored(folder, settings, limit_seconds)
    await run_git(
        ["init", "--bare", "--quiet", str(git_dir)],
        settings=settings,
        what="snapshot",
        limit_seconds=limit_seconds,
    )
    info = git_dir / "info"
    await asyncio.to_thread(info.mkdir, exist_ok=True)
    await asyncio.to_thread((info / "exclude").write_text, _exclude_lines(skipped))
    on_folder = ["-C", str(folder), "--git-dir", str(git_dir), "--work-tree", str(folder)]
    listing = await run_git(
        [*on_folder, "ls-files", "-z", "--others", "--exclude-standard"],
        settings=settings,
        what="snapshot",
        limit_seconds=limit_seconds,
    )
    names = [name for name in listing.split("\0") if name]
    if not names:
        raise RepoError(
            f"the folder {folder.name!r} has no files to snapshot (after .gitignore and the "
            "skipped folders: .git, virtualenvs, node_modules, caches)",
            details={"field": "repo_url"},
        )
    size = await asyncio.to_thread(_sizes, folder, names)
    if size > max_bytes:
        raise RepoError(
            f"the folder {folder.name!r} holds {size} bytes to snapshot, more than the "
            f"{max_bytes}-byte limit (AIDEATOR_SNAPSHOT_MAX_BYTES); add a .gitignore for "
            "what the agents do not need, or make it a git repository",
            details={"field": "repo_url", "bytes": size, "limit": max_bytes},
        )
    if not commit:
        return Snapshot(commit="", tree="", files=len(names), bytes=size)
    git = _SnapshotGit(on_folder, settings, limit_seconds)
    await git("add", "--all", "--", ".")
    tree = (await git("write-tree")).strip()
    commit_file = git_dir / "SNAPSHOT_COMMIT"
    text = f"tree {tree}\nauthor {_SIGNATURE}\ncommitter {_SIGNATURE}\n\nsnapshot\n"
    await asyncio.to_thread(commit_file.write_text, text)
    sha = (await git("hash-object", "-t", "commit", "-w", "--", str(commit_file))).strip()
    await git("update-ref", SNAPSHOT_REF, sha)
    for leftover in (commit_file, git_dir / "index"):
        await asyncio.to_thread(leftover.unlink, True)
    return Snapshot(commit=sha, tree=tree, files=len(names), bytes=size)


async def earlier_snapshot(
    git_dir: Path, commit: str, *, settings: GitSettings, limit_seconds: float
) -> Snapshot:
    """A snapshot commit the repository already holds (a fork keeps its parent's base).

    `commit` is a full commit id (checked by the caller), never an option.
    """
    code, out, _ = await run_git_status(
        ["--git-dir", str(git_dir), "rev-parse", f"{commit}^{{commit}}", f"{commit}^{{tree}}"],
        settings=settings,
        what="snapshot",
        limit_seconds=limit_seconds,
    )  # fmt: skip
    found = out.split()
    if code != 0 or len(found) != 2:
        raise RepoError(
            f"commit {commit} is not a snapshot of this folder that the server still has",
            details={"field": "ref"},
        )
    return Snapshot(commit=found[0], tree=found[1], files=0, bytes=0)


class _SnapshotGit:
    """git on the snapshot repository with its folder as the work tree."""

    def __init__(self, on_folder: list[str], settings: GitSettings, seconds: float) -> None:
        self._prefix = on_folder
        self._settings = settings
        self._seconds = seconds

    async def __call__(self, *args: str) -> str:
        return await run_git(
            [*self._prefix, *args],
            settings=self._settings,
            what="snapshot",
            limit_seconds=self._seconds,
            extra_config=_GIT_CONFIG,
        )


async def measure_folder(
    folder: Path, *, layout: CacheLayout, max_bytes: int, limit_seconds: float = 120
) -> Snapshot | None:
    """What a snapshot of `folder` would hold (None: a repository's root, used as it is).

    Raises RepoError (422, field `repo_url`) when it passes `max_bytes`: a run is refused
    before it is stored, not failed later.
    """
    if await asyncio.to_thread(is_repository_root, folder):
        return None
    for path in (layout.git_home, layout.template_dir, layout.mirrors):
        await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)
    settings = GitSettings(home=layout.git_home, template_dir=layout.template_dir, allow_file=True)
    git_dir = layout.mirrors / f"measure{PARTIAL_MARK}{secrets.token_hex(6)}"
    try:
        return await snapshot_folder(
            folder,
            git_dir,
            settings=settings,
            max_bytes=max_bytes,
            limit_seconds=limit_seconds,
            commit=False,
        )
    finally:
        await asyncio.to_thread(remove_tree, git_dir)
