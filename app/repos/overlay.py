"""Overlay mounts: a copy-on-write working tree over a shared read-only one (blocking calls).

A variation's workspace can be an overlayfs mount: the run's base tree is the read-only lower
layer, the variation's own `upper` folder takes every change (a file is copied up when first
written, a deletion leaves a whiteout), and `work` is overlayfs's scratch folder on the same
filesystem. Only root may mount one; `probe` finds out once whether this host can.

Mounts are made and removed with libc's mount(2)/umount2(2) (no process per mount). Every
mount under a path is found in /proc/self/mountinfo, so removal can detach them first
(`detach_under`) and never deletes through a mounted tree into the layers below.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

MNT_DETACH = 2
_UNSAFE = frozenset(",:\\ \t\n")  # would need escaping in the mount options: not supported

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _error(what: str, path: str) -> OSError:
    errno = ctypes.get_errno()
    return OSError(errno, f"{what}: {os.strerror(errno)}", path)


def mount_overlay(lower: Path, upper: Path, work: Path, target: Path) -> None:
    """Mount `lower` (read-only) with `upper` on top at `target`; `work` beside `upper`."""
    paths = [str(p) for p in (lower, upper, work)]
    if any(_UNSAFE & set(p) for p in paths):
        raise OSError(f"an overlay path holds one of {''.join(sorted(_UNSAFE))!r}")
    options = f"lowerdir={paths[0]},upperdir={paths[1]},workdir={paths[2]}"
    if _libc.mount(b"overlay", os.fsencode(target), b"overlay", 0, options.encode()) != 0:
        raise _error("mounting the overlay", str(target))


def unmount(target: Path | str) -> None:
    """Detach a mount (lazily: a process still inside keeps it alive, nothing else sees it)."""
    if _libc.umount2(os.fsencode(target), MNT_DETACH) != 0:
        raise _error("unmounting", str(target))


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \ooo octal escapes.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(path: Path | str, *, fs_type: str | None = None) -> list[str]:
    """Mount points at or below `path` (its real path), deepest first."""
    root = os.path.realpath(path)
    prefix = root.rstrip("/") + "/"
    found: list[str] = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as info:
            lines = info.read().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split(" ")
        point = _unescape(fields[4])
        kind = fields[fields.index("-") + 1] if "-" in fields else ""
        if (point == root or point.startswith(prefix)) and fs_type in (None, kind):
            found.append(point)
    return sorted(set(found), key=lambda p: (p.count("/"), p), reverse=True)


def detach_under(path: Path | str) -> None:
    """Unmount everything mounted at or below `path`; OSError if any mount stays."""
    points = mounts_under(path)
    if not points:
        return
    for point in points:
        try:
            unmount(point)
        except OSError:
            continue  # reported below if it is still there
    left = mounts_under(path)
    if left:
        raise OSError(f"still mounted, not removed: {left[0]}")


def is_mounted(path: Path) -> bool:
    """True when something is mounted exactly at `path`."""
    real = os.path.realpath(path)
    return real in mounts_under(real)


def probe(scratch: Path) -> str | None:
    """None when an overlay can be mounted under `scratch` here, else why not."""
    if os.geteuid() != 0:
        return "the server is not root (only root may mount an overlay)"
    if _UNSAFE & set(str(scratch)):
        return "the data directory's path holds a character mount options cannot carry"
    folders = [scratch / name for name in ("lower", "upper", "work", "merged")]
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        (folders[0] / "probe").write_text("lower\n")
        mount_overlay(*folders)
        try:
            (folders[3] / "probe").write_text("upper\n")
            if (folders[0] / "probe").read_text() != "lower\n":
                return "writing through the overlay changed its lower layer"
        finally:
            unmount(folders[3])
    except OSError as exc:
        return f"overlay mount failed: {exc.strerror or exc}"
    finally:
        if not mounts_under(scratch):
            shutil.rmtree(scratch, ignore_errors=True)
    return None
