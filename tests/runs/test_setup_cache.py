"""The set-up tree cache: keyed entries, a size cap (least recently used first) and a TTL."""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.runs.devcontainer import parse_devcontainer
from app.runs.setup_cache import SetupCache, setup_key

TREE = "a" * 40


def _tree(root: Path, size: int) -> Path:
    root.mkdir(parents=True)
    (root / "blob").write_bytes(b"x" * size)
    (root / "link").symlink_to("blob")
    return root


class TestSetupCache:
    async def test_store_then_hit(self, tmp_path: Path) -> None:
        cache = SetupCache(tmp_path / "c", max_bytes=10_000, ttl_seconds=3600)
        stored = await cache.store("k1", _tree(tmp_path / "t", 100), TREE)
        assert stored is not None and stored.tree_sha == TREE
        async with cache.using("k1") as hit:
            assert hit is not None and (hit.path / "blob").stat().st_size == 100
            assert (hit.path / "link").is_symlink()
        async with cache.using("other") as miss:
            assert miss is None

    async def test_least_recently_used_go_over_the_cap(self, tmp_path: Path) -> None:
        cache = SetupCache(tmp_path / "c", max_bytes=2500, ttl_seconds=3600)
        for name in ("old", "used", "new"):
            await cache.store(name, _tree(tmp_path / name, 1000), TREE)
            if name == "used":
                os.utime(tmp_path / "c" / "old" / "meta.json", (1, time.time() - 60))
        async with cache.using("used"):
            pass
        assert sorted(os.listdir(tmp_path / "c")) == ["new", "used"]

    async def test_entries_in_use_are_never_evicted(self, tmp_path: Path) -> None:
        cache = SetupCache(tmp_path / "c", max_bytes=1500, ttl_seconds=3600)
        await cache.store("held", _tree(tmp_path / "a", 1000), TREE)
        async with cache.using("held") as hit:
            await cache.store("next", _tree(tmp_path / "b", 1000), TREE)
            assert hit is not None and hit.path.is_dir()

    async def test_ttl_and_size_limits(self, tmp_path: Path) -> None:
        cache = SetupCache(tmp_path / "c", max_bytes=10_000, ttl_seconds=60)
        await cache.store("stale", _tree(tmp_path / "a", 10), TREE)
        os.utime(tmp_path / "c" / "stale" / "meta.json", (1, time.time() - 120))
        assert await cache.evict() == ["stale"]
        assert await cache.store("huge", _tree(tmp_path / "b", 20_000), TREE) is None
        (tmp_path / "c" / "k.partial-1234").mkdir()  # a store a stopped server left
        assert await cache.sweep() == ["k.partial-1234"]
        off = SetupCache(tmp_path / "off", max_bytes=0, ttl_seconds=60)
        assert await off.store("k", _tree(tmp_path / "d", 10), TREE) is None

    def test_key_covers_every_input(self) -> None:
        base = {"repo_url": "u", "base_sha": "s", "command": "c", "runtime": "r"}
        keys = {setup_key(**base)} | {setup_key(**(base | {name: "other"})) for name in base}
        assert len(keys) == 5


class TestDevcontainer:
    def test_comments_trailing_commas_and_command_forms(self) -> None:
        text = """{
          // a comment with "quotes", and a comma,
          "image": "example/dev:1", /* block */
          "onCreateCommand": ["pip", "install", "-e", ".[test]"],
          "postCreateCommand": {"a": "echo 'x // not a comment, ]'", "b": "make"},
        }"""
        found = parse_devcontainer(text)
        assert found is not None and found.image == "example/dev:1"
        assert found.command == (
            "pip install -e '.[test]' && ( echo 'x // not a comment, ]' ) && ( make )"
        )

    def test_unreadable_or_empty(self) -> None:
        assert parse_devcontainer("not json") is None
        empty = parse_devcontainer("{}")
        assert empty is not None and empty.command is None and empty.image is None
