"""One variation's working tree: a self-contained repository checked out at base_sha.

The repository is written directly (no `git clone`: one git process per tree, the checkout):
HEAD, a config without any remote, and the mirror's object files. Why self-contained:
`git worktree` and `--shared`/alternates keep a pointer to the mirror outside the directory,
so git breaks in a sandbox that mounts only the workspace.

Object files are copied, or hardlinked when `link_objects` is set. Linking is only safe when
the agent runs as a host user other than the server's (the local sandbox as root): pack files
are read-only and owned by the server, so an agent can neither rewrite nor chmod the inode it
shares with the mirror and the other variations; it can only drop its own link (git never
rewrites an object file in place, it writes new ones). The sandbox hand-over leaves these
shared files alone (`shared_object_file`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import time
from pathlib import Path

from app.repos.git_process import GitSettings, run_git, run_git_status

WORK_BRANCH = "aideator"
AGENT_IDENTITY = (("user.name", "AIdeator agent"), ("user.email", "agent@aideator.invalid"))
_CONFIG = (
    "[core]\n\trepositoryformatversion = {version}\n\tfilemode = true\n\tbare = false\n"
    "\tlogallrefupdates = true\n{extensions}[user]\n\tname = {name}\n\temail = {email}\n"
)


def _format(mirror: Path) -> tuple[int, str]:
    """The mirror's repository format version and its [extensions] section (object format)."""
    try:
        text = (mirror / "config").read_text()
    except OSError:
        return 0, ""
    lines = [line.strip() for line in text.splitlines()]
    wanted = ("objectformat", "compatobjectformat")
    extensions = [
        line for line in lines if line.split("=")[0].strip().lower() in wanted and "=" in line
    ]
    if not extensions:
        return 0, ""
    return 1, "[extensions]\n" + "".join(f"\t{line}\n" for line in extensions)


def seed_repository(mirror: Path, workspace: Path, *, link_objects: bool) -> int:
    """Write a repository at `workspace` with the mirror's objects; return their bytes.

    Blocking (call it through asyncio.to_thread), under the mirror's lock: a fetch must not
    change the object files while they are copied.
    """
    git_dir = workspace / ".git"
    for sub in ("objects/pack", "objects/info", "refs/heads", "refs/tags", "info"):
        (git_dir / sub).mkdir(parents=True, exist_ok=True)
    version, extensions = _format(mirror)
    identity = dict(AGENT_IDENTITY)
    (git_dir / "config").write_text(
        _CONFIG.format(
            version=version,
            extensions=extensions,
            name=identity["user.name"],
            email=identity["user.email"],
        )
    )
    (git_dir / "HEAD").write_text(f"ref: refs/heads/{WORK_BRANCH}\n")
    placed = 0
    objects = mirror / "objects"
    for entry in os.scandir(objects):
        if entry.name in ("info", "pack") or len(entry.name) != 2 or not entry.is_dir():
            continue  # loose objects live in two-hex-digit folders
        target = git_dir / "objects" / entry.name
        target.mkdir(exist_ok=True)
        for item in os.scandir(entry.path):
            placed += _place(Path(item.path), target / item.name, link=link_objects)
    for item in os.scandir(objects / "pack"):
        if item.name.startswith("tmp_") or not item.is_file(follow_symlinks=False):
            continue  # a fetch's unfinished pack
        target = git_dir / "objects" / "pack" / item.name
        placed += _place(Path(item.path), target, link=link_objects)
    return placed


def _place(source: Path, target: Path, *, link: bool) -> int:
    """Hardlink (when asked and possible) or copy one object file; its size."""
    if link:
        try:
            os.link(source, target)
            return target.stat().st_size
        except OSError:
            pass  # another filesystem, or a link limit: copy instead
    shutil.copyfile(source, target)
    os.chmod(target, 0o444)
    return target.stat().st_size


def shared_object_file(path: str, st_nlink: int, st_uid: int, uid: int) -> bool:
    """True for an object file a workspace shares with the mirror (left to its owner)."""
    return st_nlink > 1 and st_uid != uid and f"{os.sep}.git{os.sep}objects{os.sep}" in path


def give_tree(tree: Path, uid: int, gid: int) -> None:
    """Make uid:gid own a tree (never following symlinks; blocking).

    Entries it already owns are left alone (on an overlay workspace, a chown would copy the
    file up), and so are object files shared read-only with the mirror.
    """
    _give(str(tree), uid, gid)
    for top, dirs, files in os.walk(tree):
        for name in [*dirs, *files]:
            _give(os.path.join(top, name), uid, gid)


def backdate_files(tree: Path, seconds: float) -> None:
    """Set the mtime of every checked-out file (not `.git`) `seconds` back (blocking)."""
    when = time.time() - seconds
    for top, dirs, files in os.walk(tree):
        if top == str(tree):
            dirs[:] = [name for name in dirs if name != ".git"]
        for name in files:
            os.utime(os.path.join(top, name), (when, when), follow_symlinks=False)


def _give(path: str, uid: int, gid: int) -> None:
    info = os.lstat(path)
    if info.st_uid == uid and info.st_gid == gid:
        return
    if not stat.S_ISDIR(info.st_mode) and shared_object_file(path, info.st_nlink, info.st_uid, uid):
        return  # the mirror's read-only object file, shared: it stays the server's
    os.chown(path, uid, gid, follow_symlinks=False)


async def check_out(
    workspace: Path,
    base_sha: str,
    *,
    settings: GitSettings,
    limit_seconds: float,
    max_bytes: int,
    copied_bytes: int,
) -> None:
    """Check out base_sha on a fresh branch (one git process).

    The checked-out files may add up to `max_bytes` on top of the copied objects.
    """
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


async def settle_index(tree: Path, *, settings: GitSettings, limit_seconds: float) -> str | None:
    """Make git in every overlay of this base find its files clean, without hashing them.

    A file git must hash again (its ctime changed by the hand-over's chown, or its mtime in
    the same second as the index: "racily clean") makes `git add` touch the shared pack
    (freshening it), which an overlay then copies up whole. So the files' mtimes are set two
    seconds back and the index records their stat data anew. Only for our own checkout:
    git never runs on the host in a tree an agent or setup wrote. Returns git's error, if any.
    """
    await asyncio.to_thread(backdate_files, tree, 2.0)
    code, _, err = await run_git_status(
        ["-C", str(tree), "update-index", "-q", "--refresh"],
        settings=settings,
        what="refreshing the index",
        limit_seconds=limit_seconds,
        # Handed to the sandbox user, but only ever written by us (never mounted yet).
        extra_config=[("safe.directory", str(tree))],
    )
    return None if code == 0 else err.decode(errors="replace")[-300:]


async def apply_patch(
    workspace: Path, patch: str, *, settings: GitSettings, limit_seconds: float
) -> None:
    """`git apply` a diff to a workspace no agent ran in (the patch file sits beside it)."""
    patch_file = workspace.parent / f".{workspace.name}.patch"
    await asyncio.to_thread(patch_file.write_text, patch)
    try:
        await run_git(
            ["-C", str(workspace), "apply", "--binary", "--whitespace=nowarn", "--",
             str(patch_file)],
            settings=settings,
            what="applying the variation's diff",
            limit_seconds=limit_seconds,
        )  # fmt: skip
    finally:
        await asyncio.to_thread(patch_file.unlink, True)
