"""Overlay workspaces (real mounts, root only): shared base, private layers, clean removal."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from app.repos.cache import RepoCache
from app.repos.directories import remove_tree
from app.repos.overlay import is_mounted, mount_overlay, mounts_under, unmount
from app.runners.local.user import SandboxIdentity, hand_over
from app.runs.partial_diff import partial_diff

from .conftest import SourceRepo, git

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root can mount an overlay")

OWNER = 4242  # an unprivileged host uid standing in for the sandbox user


def make_cache(root: Path, **options: object) -> RepoCache:
    return RepoCache(root, allow_local=True, clone_timeout=60, overlay=True, **options)  # type: ignore[arg-type]


async def agit(*args: str | Path, cwd: Path) -> str:
    return await asyncio.to_thread(git, *args, cwd=cwd)


async def three_trees(cache: RepoCache, repo_url: str, run: str = "run-o") -> list[Path]:
    base = await cache.prepare(run_id=run, repo_url=repo_url, ref=None)
    return list(
        await asyncio.gather(
            *(cache.add_worktree(run_id=run, variation_id=n, base_sha=base) for n in range(3))
        )
    )


async def test_variations_share_one_base_and_keep_their_changes_apart(
    tmp_path: Path, repo_url: str, source_repo: SourceRepo
) -> None:
    cache = make_cache(tmp_path / "cache")
    trees = await three_trees(cache, repo_url)
    assert await cache.uses_overlay()
    assert all(is_mounted(tree) for tree in trees)
    bases = list((cache.layout.run_dir("run-o") / ".bases").iterdir())
    assert len(bases) == 1  # checked out once for the three
    (trees[0] / "README.md").write_text("changed in 0\n")
    (trees[0] / "src" / "calc.py").unlink()
    await agit("add", "-A", cwd=trees[0])
    await agit("commit", "-qm", "variation 0", cwd=trees[0])
    assert (bases[0] / "README.md").read_text() == "hello\nworld\n"
    assert (bases[0] / "src" / "calc.py").is_file()
    for tree in trees[1:]:
        assert (tree / "README.md").read_text() == "hello\nworld\n"
        assert (tree / "src" / "calc.py").is_file()
        assert await agit("status", "--porcelain", cwd=tree) == ""
        assert await agit("rev-parse", "HEAD", cwd=tree) == source_repo.main
    changed = await agit("diff", "--name-status", source_repo.main, cwd=trees[0])
    assert changed.splitlines() == ["M\tREADME.md", "D\tsrc/calc.py"]


async def test_partial_diff_of_an_overlay_workspace(
    tmp_path: Path, repo_url: str, source_repo: SourceRepo
) -> None:
    cache = make_cache(tmp_path / "cache")
    tree = (await three_trees(cache, repo_url))[1]
    (tree / "src" / "calc.py").unlink()  # a lower file deleted: a whiteout in the upper layer
    (tree / "new.txt").write_text("new\n")
    found = await partial_diff(tree, source_repo.main, None)
    assert found is not None
    assert "deleted file mode" in found.diff and "src/calc.py" in found.diff
    assert "+new" in found.diff
    assert (found.files, found.insertions, found.deletions) == (2, 1, 2)


async def test_remove_run_unmounts_and_deletes_everything(tmp_path: Path, repo_url: str) -> None:
    cache = make_cache(tmp_path / "cache")
    await three_trees(cache, repo_url)
    await three_trees(cache, repo_url, run="other")
    run_dir = cache.layout.run_dir("run-o")
    assert len(mounts_under(run_dir)) == 3
    await cache.remove_run("run-o")
    assert mounts_under(run_dir) == [] and not run_dir.exists()
    assert len(mounts_under(cache.layout.run_dir("other"))) == 3  # another run's stay
    mirror = next(cache.layout.mirrors.iterdir())
    assert (mirror / "objects").is_dir()


async def test_a_new_tree_replaces_a_mounted_one(
    tmp_path: Path, repo_url: str, source_repo: SourceRepo
) -> None:
    cache = make_cache(tmp_path / "cache")
    tree = (await three_trees(cache, repo_url))[0]
    (tree / "left.txt").write_text("from the first attempt\n")
    again = await cache.add_worktree(run_id="run-o", variation_id=0, base_sha=source_repo.main)
    assert again == tree and not (tree / "left.txt").exists()
    assert len(mounts_under(tree)) == 1


async def test_a_restarted_server_sweeps_stale_mounts_and_remounts_kept_ones(
    tmp_path: Path, repo_url: str
) -> None:
    first = make_cache(tmp_path / "cache")
    kept = (await three_trees(first, repo_url, run="kept"))[2]
    await three_trees(first, repo_url, run="crashed")
    (kept / "work.txt").write_text("the agent's work\n")
    unmount(kept)  # as a reboot leaves it: layers on disk, no mount
    assert not (kept / "work.txt").exists()
    second = make_cache(tmp_path / "cache")  # a new server on the same data dir
    await second.sweep_orphans({"kept"})
    assert mounts_under(second.layout.run_dir("crashed")) == []
    assert not second.layout.run_dir("crashed").exists()
    assert is_mounted(kept) and (kept / "work.txt").read_text() == "the agent's work\n"


async def test_a_follow_up_mounts_a_workspace_whose_mount_is_gone(
    tmp_path: Path, repo_url: str
) -> None:
    cache = make_cache(tmp_path / "cache")
    tree = (await three_trees(cache, repo_url))[1]
    (tree / "turn1.txt").write_text("turn 1\n")
    unmount(tree)
    assert await cache.reopen_worktree(run_id="run-o", variation_id=1) == tree
    assert (tree / "turn1.txt").read_text() == "turn 1\n"
    assert await cache.reopen_worktree(run_id="run-o", variation_id=1) == tree  # idempotent
    assert len(mounts_under(tree)) == 1


async def test_the_base_is_handed_over_once_and_hand_over_copies_nothing_up(
    tmp_path: Path, repo_url: str
) -> None:
    cache = make_cache(tmp_path / "cache", link_objects=True, tree_owner=(OWNER, OWNER))
    trees = await three_trees(cache, repo_url)
    base = next((cache.layout.run_dir("run-o") / ".bases").iterdir())
    assert (base / "README.md").stat().st_uid == OWNER
    objects = [p for p in (base / ".git" / "objects").rglob("*") if p.is_file()]
    assert objects and all(p.stat().st_nlink > 1 for p in objects)  # linked to the mirror's
    assert all(p.stat().st_uid == 0 for p in objects)  # shared: they stay the server's
    for tree in trees:
        hand_over(tree, SandboxIdentity(OWNER, OWNER, own_userns=True))
        assert tree.stat().st_uid == OWNER
        upper = cache.layout.layers_dir("run-o", int(tree.name)) / "upper"
        assert list(upper.iterdir()) == []  # nothing was copied up
    # The base's index is settled: git finds every file clean and hashes none, so it never
    # freshens (touches) the shared pack, which the overlay would copy up whole.
    await agit("-c", "safe.directory=*", "add", "-A", cwd=trees[0])
    copied = [p for p in cache.layout.layers_dir("run-o", 0).rglob("*") if p.is_file()]
    assert not [p for p in copied if "objects" in p.parts], copied


async def test_a_set_up_tree_from_elsewhere_is_copied_once_per_run(
    tmp_path: Path, repo_url: str
) -> None:
    cache = make_cache(tmp_path / "cache")
    await cache.prepare(run_id="run-s", repo_url=repo_url, ref=None)
    source = tmp_path / "setup-cache" / "tree"
    source.mkdir(parents=True)
    (source / "installed.txt").write_text("deps\n")
    trees = await asyncio.gather(
        *(cache.copy_tree(source, run_id="run-s", variation_id=n) for n in range(3))
    )
    assert all(is_mounted(tree) for tree in trees)
    [base] = list((cache.layout.run_dir("run-s") / ".bases").iterdir())
    # Linked, not copied: the files are the cache's own inodes.
    assert (base / "installed.txt").stat().st_ino == (source / "installed.txt").stat().st_ino
    (trees[0] / "installed.txt").write_text("changed\n")
    assert (trees[1] / "installed.txt").read_text() == "deps\n"
    assert (source / "installed.txt").read_text() == "deps\n"
    shutil.rmtree(source)  # the setup cache evicts the entry: the run keeps its base
    assert (trees[2] / "installed.txt").read_text() == "deps\n"
    unmount(trees[2])
    await cache.reopen_worktree(run_id="run-s", variation_id=2)
    assert (trees[2] / "installed.txt").read_text() == "deps\n"


async def test_overlay_off_or_unusable_falls_back_to_full_checkouts(
    tmp_path: Path, repo_url: str
) -> None:
    off = RepoCache(tmp_path / "off", allow_local=True, overlay=False)
    unusable = make_cache(tmp_path / "a,b")  # a comma cannot go into the mount options
    for cache in (off, unusable):
        trees = await three_trees(cache, repo_url)
        assert not await cache.uses_overlay()
        assert mounts_under(cache.layout.root) == []
        assert all((tree / ".git" / "HEAD").is_file() for tree in trees)
        assert not (cache.layout.run_dir("run-o") / ".bases").exists()


def test_removal_unmounts_a_mount_whose_path_has_a_space(
    tmp_path: Path,
) -> None:
    layers = tmp_path / "layers"
    lower, upper, work = layers / "lower", layers / "upper", layers / "work"
    for folder in (lower, upper, work):
        folder.mkdir(parents=True)
    (lower / "kept.txt").write_text("lower\n")
    target = tmp_path / "a run" / "0"  # mountinfo writes the space as \040
    target.mkdir(parents=True)
    mount_overlay(lower, upper, work, target)
    assert mounts_under(tmp_path / "a run") == [str(target)]
    assert remove_tree(tmp_path / "a run")
    assert mounts_under(tmp_path) == [] and not (tmp_path / "a run").exists()
    assert (lower / "kept.txt").read_text() == "lower\n"


def test_two_removers_of_one_tree_both_succeed(tmp_path: Path) -> None:
    """A sweep at another app's start-up may remove a tree this app is removing: whatever
    vanishes meanwhile is simply gone, not an error."""
    import threading

    errors: list[BaseException] = []
    for round_ in range(5):
        root = tmp_path / f"tree{round_}"
        for d in range(40):
            folder = root / f"d{d}" / "sub"
            folder.mkdir(parents=True)
            for f in range(25):
                (folder / f"f{f}").write_text("x")

        def remove(target: Path = root) -> None:
            try:
                remove_tree(target)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=remove) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not root.exists()
    assert errors == []
