"""diff_between: a scratch repository borrowing the mirror's objects, never writing to it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.delivery.commit import ensure_base
from app.repos.cache import RepoCache
from app.repos.tree_diff import PatchCannotApply, diff_between

PATCH = """diff --git a/src/a.txt b/src/a.txt
--- a/src/a.txt
+++ b/src/a.txt
@@ -1 +1 @@
-a
+changed
"""
STALE = PATCH.replace("-a\n", "-not what the file says\n")


def _head(repo: Path) -> str:
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True)
    return out.stdout.decode().strip()


async def test_diff_between_and_a_patch_that_does_not_apply(tmp_path: Path, git_repo: Path) -> None:
    cache = RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=60)
    access = await cache.remote(str(git_repo))
    base = _head(git_repo)
    await ensure_base(access, base)
    before = sorted(p.name for p in (access.mirror / "objects").rglob("*"))
    text = await diff_between(access, base_sha=base, patches={0: "", 1: PATCH}, old=0, new=1)
    assert "-a\n+changed\n" in text and text.startswith("diff --git a/src/a.txt b/src/a.txt")
    reverse = await diff_between(access, base_sha=base, patches={0: "", 1: PATCH}, old=1, new=0)
    assert "-changed\n+a\n" in reverse
    assert sorted(p.name for p in (access.mirror / "objects").rglob("*")) == before
    with pytest.raises(PatchCannotApply) as failed:
        await diff_between(access, base_sha=base, patches={0: PATCH, 1: STALE}, old=0, new=1)
    assert failed.value.status_code == 409
    assert "variation 1's diff does not apply" in str(failed.value)
