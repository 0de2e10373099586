"""Micro-benchmark: N per-variation working trees from the clone cache vs one plain clone.

Generates a repository with ~2,000 small files, then measures the disk the N workspaces and
their mirror take (allocated blocks, each inode counted once, as `du` does) against one plain
clone: with object files copied, hardlinked from the mirror (root), and as overlay mounts
over one checkout per run (root; the chosen way). For overlays it counts what is on the
disk: the mirror, the run's base checkout and each variation's upper/work folders, never the
mounted (merged) views, which would count the base again. It times (median of --repeat rounds):
  - one plain `git clone file://...` (the work a network clone does, minus the network),
  - one plain clone over git's smart HTTP protocol from a server on 127.0.0.1,
  - RepoCache.prepare (the cache's own first clone),
  - N RepoCache.add_worktree calls, concurrently (as the supervisor starts variations)
    and one after another (as the local sandbox as root has them: overlay mounts with the
    base's object files hardlinked from the mirror; full checkouts with copied objects
    otherwise),
  - for comparison, the rejected alternatives: N hardlinked local clones and N `git worktree add`.
The overlay row is also measured after `git add -A` in each workspace (what computing a
variation's diff writes: a new index, copied up into each upper layer).

Usage: uv run python bench/worktrees.py [--files 2000] [--trees 8] [--repeat 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from app.repos.cache import RepoCache
from app.repos.overlay import detach_under

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.repos.git_http import GitHttpServer  # the tests' git HTTP server

GIT_ENV = {
    "PATH": os.defpath,
    "HOME": tempfile.gettempdir(),
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def git(*args: str | Path) -> None:
    """Run git quietly, failing loudly."""
    subprocess.run(["git", *map(str, args)], env=GIT_ENV, check=True, capture_output=True)


def disk_bytes(*roots: Path) -> int:
    """Allocated bytes under these trees, each inode once (hardlinks are not counted twice)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root in roots:
        for top, dirs, files in os.walk(root):
            dirs[:] = [name for name in dirs if not os.path.ismount(os.path.join(top, name))]
            for name in [*dirs, *files]:
                info = os.lstat(os.path.join(top, name))
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    total += info.st_blocks * 512
    return total


def make_repo(root: Path, files: int) -> Path:
    """A packed repository of `files` small Python-like files in 50-file packages."""
    rng = random.Random(1)
    words = [f"word{i}" for i in range(500)]
    src = root / "src"
    for i in range(files):
        folder = src / f"pkg{i // 50}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = (" ".join(rng.choice(words) for _ in range(8)) for _ in range(40))
        (folder / f"mod{i}.py").write_text("\n".join(lines) + "\n")
    git("init", "-q", "-b", "main", src)
    git("-C", src, "add", "-A")
    git("-C", src, "commit", "-qm", "generated")
    git("-C", src, "gc", "-q")
    return src


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    """Seconds one awaited action takes."""
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def median_of(
    rounds: int, action: Callable[[int], Awaitable[object]], reset: Callable[[], Awaitable[object]]
) -> float:
    """Median seconds over `rounds` runs of action(round), calling reset() after each."""
    times = []
    for n in range(rounds):
        times.append(await timed(functools.partial(action, n)))
        await reset()
    return statistics.median(times)


async def main() -> None:
    """Run the benchmark and print the numbers."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--trees", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to work (default: the temp dir)")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=opts.dir) as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        stack.callback(detach_under, tmp)  # a failed round must leave no mount behind
        src = await asyncio.to_thread(make_repo, tmp, opts.files)
        scratch = tmp / "scratch"

        async def wipe() -> None:
            await asyncio.to_thread(shutil.rmtree, scratch, True)

        async def plain_clone(n: int) -> None:
            await asyncio.to_thread(git, "clone", "-q", f"file://{src}", scratch / "clone")

        clone_s = await median_of(opts.repeat, plain_clone, wipe)
        await asyncio.to_thread(git, "clone", "-q", "--bare", src, tmp / "srv" / "repo.git")
        with GitHttpServer(tmp / "srv") as server:

            async def http_clone(n: int) -> None:
                url = f"{server.base_url}/repo.git"
                await asyncio.to_thread(git, "clone", "-q", url, scratch / "clone")

            http_s = await median_of(opts.repeat, http_clone, wipe)

        async def cache_clone(n: int) -> None:
            cache = RepoCache(scratch / "cache", allow_local=True)
            await cache.prepare(run_id="bench", repo_url=str(src), ref=None)

        prepare_s = await median_of(opts.repeat, cache_clone, wipe)

        await asyncio.to_thread(git, "clone", "-q", f"file://{src}", tmp / "one-clone")
        clone_disk = await asyncio.to_thread(disk_bytes, tmp / "one-clone")
        root = os.geteuid() == 0
        ways = {"objects copied": (False, False)}
        if root:
            ways["objects hardlinked from the mirror"] = (True, False)
            ways["overlay mounts over one checkout (chosen as root)"] = (True, True)
        disk: dict[str, int] = {}
        for n, (way, (linked, overlay)) in enumerate(ways.items()):
            cache = RepoCache(
                tmp / f"cache-{n}", allow_local=True, link_objects=linked, overlay=overlay
            )
            base = await cache.prepare(run_id="bench", repo_url=str(src), ref=None)
            await asyncio.gather(
                *(
                    cache.add_worktree(run_id="bench", variation_id=v, base_sha=base)
                    for v in range(opts.trees)
                )
            )
            if overlay and not await cache.uses_overlay():
                raise SystemExit("overlay mounts are not available here")
            disk[way] = await asyncio.to_thread(
                disk_bytes, cache.layout.mirrors, cache.layout.run_dir("bench")
            )
            if overlay:  # what each variation's diff adds: `git add -A` rewrites its index
                for v in range(opts.trees):
                    await asyncio.to_thread(
                        git, "-C", cache.workspace_path("bench", v), "add", "-A"
                    )
                disk[f"{way}, after `git add -A` in each"] = await asyncio.to_thread(
                    disk_bytes, cache.layout.mirrors, cache.layout.run_dir("bench")
                )
            await cache.remove_run("bench")  # unmounts
        cache = RepoCache(tmp / "cache", allow_local=True, link_objects=root, overlay=root)
        base = await cache.prepare(run_id="bench", repo_url=str(src), ref=None)

        async def trees_concurrent(n: int) -> None:
            await asyncio.gather(
                *(
                    cache.add_worktree(run_id="bench", variation_id=v, base_sha=base)
                    for v in range(opts.trees)
                )
            )

        async def trees_sequential(n: int) -> None:
            for v in range(opts.trees):
                await cache.add_worktree(run_id="bench", variation_id=v, base_sha=base)

        async def drop_trees() -> None:
            await cache.remove_run("bench")
            await cache.prepare(run_id="bench", repo_url=str(src), ref=None)

        concurrent_s = await median_of(opts.repeat, trees_concurrent, drop_trees)
        sequential_s = await median_of(opts.repeat, trees_sequential, drop_trees)

        mirror = next(cache.layout.mirrors.iterdir())

        async def hardlinked(n: int) -> None:
            for v in range(opts.trees):
                await asyncio.to_thread(git, "clone", "-q", mirror, scratch / str(v))

        async def worktree_add(n: int) -> None:
            for v in range(opts.trees):
                await asyncio.to_thread(
                    git, "-C", mirror, "worktree", "add", "-q", "--detach", scratch / str(v), base
                )

        async def prune() -> None:
            await wipe()
            await asyncio.to_thread(git, "-C", mirror, "worktree", "prune")

        hardlink_s = await median_of(opts.repeat, hardlinked, wipe)
        worktree_s = await median_of(opts.repeat, worktree_add, prune)
        await cache.remove_run("bench")

    n = opts.trees
    mib = 1024 * 1024
    print(f"repository: {opts.files} files; median of {opts.repeat} rounds; {os.cpu_count()} CPUs")
    print(f"disk: one plain clone                               {clone_disk / mib:7.1f} MiB")
    for how, used in disk.items():
        print(f"disk: mirror + {n} workspaces, {how} {used / mib:7.1f} MiB")
        ratio = used / clone_disk
        verdict = "met" if ratio <= 1.5 else "NOT met"
        print(f"ratio (disk, {how}): {ratio:.2f} (target <= 1.5: {verdict})")
    print(f"one plain clone (git clone file://)      {clone_s:7.3f} s")
    print(f"one plain clone (smart HTTP, loopback)    {http_s:7.3f} s")
    print(f"RepoCache.prepare (first clone)           {prepare_s:7.3f} s")
    print(f"{n} workspaces, concurrent (chosen)         {concurrent_s:7.3f} s")
    print(f"{n} workspaces, one after another (chosen)  {sequential_s:7.3f} s")
    print(f"{n} hardlinked clones (rejected)            {hardlink_s:7.3f} s")
    print(f"{n} git worktree add (rejected)             {worktree_s:7.3f} s")
    for name, baseline in (("file://", clone_s), ("HTTP", http_s)):
        ratio = concurrent_s / baseline
        verdict = "met" if ratio < 2 else "NOT met"
        print(f"ratio: {n} workspaces / one {name} clone = {ratio:.2f} (target < 2: {verdict})")
    print(f"per workspace: {concurrent_s / n:.3f} s concurrent, {sequential_s / n:.3f} s in turn")


if __name__ == "__main__":
    asyncio.run(main())
