"""Set-up trees kept across runs: keyed by (repository, base commit, setup command, runtime).

```
<root>/<key>/tree/        the workspace as setup left it (copied into each variation)
<root>/<key>/meta.json    {"tree": git tree id, "bytes": size, "created": unix time}
<root>/<key>.partial-*    an entry being stored (renamed when complete)
```

An entry's last use is its meta file's mtime (touched on every hit). Entries unused longer
than the TTL go, then the least recently used until the total is under the size cap. An
entry a run is copying from is never removed under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.repos.directories import copy_directory, directory_bytes, list_names, remove_tree

log = structlog.get_logger()

PARTIAL_MARK = ".partial-"


@dataclass(frozen=True)
class CachedTree:
    """One set-up tree ready to copy."""

    path: Path  # the tree directory
    tree_sha: str  # git tree id of the workspace as setup left it


def setup_key(*, repo_url: str, base_sha: str, command: str, runtime: str) -> str:
    """The cache key of a set-up tree."""
    text = json.dumps([repo_url, base_sha, command, runtime])
    return hashlib.sha256(text.encode()).hexdigest()[:40]


class SetupCache:
    """Stores set-up trees on disk with a size cap and a TTL (max_bytes 0: never stores)."""

    def __init__(self, root: Path, *, max_bytes: int, ttl_seconds: float) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self._in_use: dict[str, int] = {}
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        """False when the size cap is 0."""
        return self.max_bytes > 0

    @contextlib.asynccontextmanager
    async def using(self, key: str) -> AsyncIterator[CachedTree | None]:
        """The entry for `key` (None on a miss), protected from eviction while held."""
        self._in_use[key] = self._in_use.get(key, 0) + 1
        try:
            yield await asyncio.to_thread(self._lookup, key) if self.enabled else None
        finally:
            self._in_use[key] -= 1
            if not self._in_use[key]:
                del self._in_use[key]

    def _lookup(self, key: str) -> CachedTree | None:
        entry = self.root / key
        try:
            meta = json.loads((entry / "meta.json").read_text())
            os.utime(entry / "meta.json")  # last use
        except (OSError, ValueError):
            return None
        tree = entry / "tree"
        return CachedTree(tree, str(meta["tree"])) if tree.is_dir() else None

    async def store(self, key: str, tree: Path, tree_sha: str) -> CachedTree | None:
        """Copy a set-up tree in; None when caching is off or the tree alone exceeds the cap."""
        if not self.enabled:
            return None
        size = await asyncio.to_thread(directory_bytes, tree)
        if size > self.max_bytes:
            log.info("setup_cache.too_large", bytes=size, cap=self.max_bytes)
            return None
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        partial = self.root / f"{key}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}"
        await asyncio.to_thread(partial.mkdir)
        try:
            await copy_directory(tree, partial / "tree")
            meta = {"tree": tree_sha, "bytes": size, "created": time.time()}
            await asyncio.to_thread((partial / "meta.json").write_text, json.dumps(meta))
            async with self._lock:
                # Another run may have stored the same key first: theirs is as good.
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(os.rename, partial, self.root / key)
        finally:
            await asyncio.to_thread(remove_tree, partial)
        await self.evict(keep=key)
        return CachedTree(self.root / key / "tree", tree_sha)

    async def sweep(self) -> list[str]:
        """At startup: remove entries left half-stored by a stopped server, then evict."""
        names = await asyncio.to_thread(list_names, self.root)
        partial = [name for name in names if PARTIAL_MARK in name]
        for name in partial:
            await asyncio.to_thread(remove_tree, self.root / name)
        return partial + await self.evict()

    async def evict(self, keep: str | None = None) -> list[str]:
        """Remove expired entries, then the least recently used over the cap."""
        async with self._lock:
            removed = await asyncio.to_thread(self._evict, {keep} | set(self._in_use))
        if removed:
            log.info("setup_cache.evicted", count=len(removed))
        return removed

    def _evict(self, protected: set[str | None]) -> list[str]:
        entries: list[tuple[float, int, str]] = []
        removed: list[str] = []
        now = time.time()
        for name in list_names(self.root):
            if PARTIAL_MARK in name:
                continue
            try:
                meta_path = self.root / name / "meta.json"
                used = meta_path.stat().st_mtime
                size = int(json.loads(meta_path.read_text()).get("bytes", 0))
            except (OSError, ValueError):
                used, size = 0.0, 0
            if now - used > self.ttl_seconds and name not in protected:
                remove_tree(self.root / name)
                removed.append(name)
            else:
                entries.append((used, size, name))
        total = sum(size for _, size, _ in entries)
        for _, size, name in sorted(entries):
            if total <= self.max_bytes:
                break
            if name in protected:
                continue
            remove_tree(self.root / name)
            removed.append(name)
            total -= size
        return removed
