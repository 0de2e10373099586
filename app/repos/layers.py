"""Copy-on-write workspaces: one read-only base tree per run, an overlay per variation.

A run's variations start from the same tree (the checkout at base_sha, or the set-up tree).
It is made once, in the run's folder (`.bases/<key>`), handed to the sandbox user once, and
each variation's workspace is an overlay mount of it with the variation's own `upper` and
`work` folders (`.layers/<n>`): a variation pays only for the files it changes. The
workspace keeps its path, so everything that reads it (sandbox bind mounts, diffs, checks,
follow-up turns) sees an ordinary directory.

Each variation's layers record their base (a relative `lower` symlink), so a workspace whose
mount is gone (the host rebooted, or someone unmounted it) is mounted again from them
(`remount`). Removal goes through `remove_tree`, which unmounts first.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from app.errors import RepoError
from app.repos.directories import list_names, remove_tree
from app.repos.layout import CacheLayout
from app.repos.overlay import is_mounted, mount_overlay
from app.repos.workspace import give_tree

log = structlog.get_logger()

LOWER_LINK = "lower"


class OverlayTrees:
    """The run's shared bases and its variations' overlay mounts."""

    def __init__(self, layout: CacheLayout, *, owner: tuple[int, int] | None) -> None:
        """`owner`: uid:gid the sandbox runs as on the host (None: trees stay the server's)."""
        self.layout = layout
        self.owner = owner
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._ready: dict[tuple[str, str], Path] = {}

    async def base(
        self,
        run_id: str,
        key: str,
        make: Callable[[Path], Awaitable[object]] | None,
        *,
        settle: Callable[[Path], Awaitable[object]] | None = None,
    ) -> Path:
        """The run's base tree `key`, made once by `make(path)` and handed to the owner.

        `make` None: `key` is already a tree in the run's folder (the run's set-up tree).
        `settle(path)`: runs last, once the tree is handed over (before any mount).
        """
        lock = self._locks.setdefault((run_id, key), asyncio.Lock())
        async with lock:
            ready = self._ready.get((run_id, key))
            if ready is not None:
                return ready
            if make is None:
                path = Path(key)
            else:
                path = self.layout.base_dir(run_id, key)
                await asyncio.to_thread(remove_tree, path)
                await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
                await make(path)
            if self.owner is not None:
                await asyncio.to_thread(give_tree, path, *self.owner)
            if settle is not None:
                await settle(path)
                if self.owner is not None:  # what settling wrote (a new git index)
                    await asyncio.to_thread(give_tree, path, *self.owner)
            self._ready[(run_id, key)] = path
            return path

    async def mount(self, run_id: str, variation_id: int, lower: Path) -> Path:
        """Variation n's workspace as a fresh overlay of `lower` (replacing any old one)."""
        workspace = self.layout.workspace_path(run_id, variation_id)
        layers = self.layout.layers_dir(run_id, variation_id)
        try:
            await asyncio.to_thread(_mount_fresh, lower, layers, workspace)
        except OSError as exc:
            raise RepoError(f"could not mount the workspace overlay: {exc}") from None
        return workspace

    async def remount(self, run_id: str, variation_id: int) -> bool:
        """Mount a kept workspace again from its layers if its mount is gone; True if it was."""
        workspace = self.layout.workspace_path(run_id, variation_id)
        layers = self.layout.layers_dir(run_id, variation_id)
        try:
            done = await asyncio.to_thread(_remount, layers, workspace)
        except OSError as exc:
            raise RepoError(f"could not mount the kept workspace again: {exc}") from None
        if done:
            log.info("workspace_remounted", run_id=run_id, variation_id=variation_id)
        return done

    async def remount_run(self, run_id: str) -> int:
        """`remount` every variation of a kept run that has layers; how many were mounted."""
        folder = self.layout.run_dir(run_id) / ".layers"
        names = await asyncio.to_thread(list_names, folder)
        count = 0
        for name in names:
            if name.isdigit():
                count += await self.remount(run_id, int(name))
        return count

    def forget_run(self, run_id: str) -> None:
        """The run's folder is gone: its bases must be made again if it comes back."""
        for key in [key for key in self._ready if key[0] == run_id]:
            self._ready.pop(key, None)
            self._locks.pop(key, None)


def _mount_fresh(lower: Path, layers: Path, workspace: Path) -> None:
    remove_tree(workspace)
    remove_tree(layers)
    upper, work = layers / "upper", layers / "work"
    upper.mkdir(parents=True)
    work.mkdir()
    # The merged tree's root takes the upper folder's owner and mode: the base's.
    info = os.stat(lower)
    os.chown(upper, info.st_uid, info.st_gid)
    os.chmod(upper, stat.S_IMODE(info.st_mode))
    (layers / LOWER_LINK).symlink_to(os.path.relpath(lower, layers))
    workspace.mkdir(parents=True, exist_ok=True)
    mount_overlay(lower.absolute(), upper.absolute(), work.absolute(), workspace)


def _remount(layers: Path, workspace: Path) -> bool:
    link = layers / LOWER_LINK
    if not os.path.islink(link) or is_mounted(workspace):
        return False
    lower = (layers / os.readlink(link)).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    if any(os.scandir(workspace)):
        raise OSError(f"{workspace} is not empty; it cannot be mounted over")
    mount_overlay(lower, (layers / "upper").absolute(), (layers / "work").absolute(), workspace)
    return True
