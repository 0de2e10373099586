"""Directory helpers: size and removal (blocking: call them through asyncio.to_thread), copy."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.repos.overlay import detach_under


def directory_bytes(path: Path) -> int:
    """Sum of file sizes under a path, never following symlinks; vanished files count 0."""
    total = 0
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue  # removed or renamed while git works: it is measured on the next poll
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def _make_writable_and_retry(
    func: Callable[[str], Any], path: str, exc_info: tuple[type[BaseException], BaseException, Any]
) -> None:
    # Something else removed it meanwhile (a sweep at another app's start-up): it is gone.
    if isinstance(exc_info[1], FileNotFoundError):
        return
    # An agent may leave read-only directories behind; open them up and try once more.
    try:
        parent = os.path.dirname(path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IRWXU)
        if not os.path.islink(path) and os.path.isdir(path):
            os.chmod(path, os.stat(path).st_mode | stat.S_IRWXU)
        func(path)
    except FileNotFoundError:
        return


def list_names(folder: Path) -> list[str]:
    """The names in a folder, sorted; none when it does not exist (blocking)."""
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        return []


def remove_tree(path: Path) -> bool:
    """Delete a directory tree (symlinks are removed, never followed); False if absent.

    Anything mounted inside it (a variation's overlay) is unmounted first; if a mount stays,
    OSError, and nothing is deleted through it.
    """
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        detach_under(path)
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return True
    shutil.rmtree(path, onerror=_make_writable_and_retry)
    return True


async def copy_directory(source: Path, target: Path, *, link: bool = False) -> None:
    """Copy a tree with modes, owners, times and symlinks as they are (reflinks if possible).

    `link`: hardlink the files instead (folders are made anew); a copy where that fails
    (another filesystem). Only for a target nothing writes in place (an overlay's base).
    """
    if link:
        try:
            return await _cp(source, target, "--link")
        except OSError:
            await asyncio.to_thread(remove_tree, target)
    await _cp(source, target, "--reflink=auto")


async def _cp(source: Path, target: Path, how: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "cp", "-a", how, "--", str(source), str(target),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise OSError(f"copying {source.name} failed: {err.decode(errors='replace').strip()}")
