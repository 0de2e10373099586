"""The delivered commit is built in the host's mirror; a diff that does not apply is named."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.delivery.commit import PatchDoesNotApply, build_commit, ensure_base
from app.repos.cache import RepoCache
from tests.conftest import make_git_repo

STALE = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1 +1 @@
-this line is not in the file
+replacement
"""


def _head(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


async def test_a_diff_that_does_not_apply_names_its_files(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo", {"calc.py": "x = 1\n", "ok.txt": "ok\n"})
    base = _head(repo)
    cache = RepoCache(tmp_path / "cache", allow_local=True)
    access = await cache.remote(str(repo))
    async with access.lock:
        await ensure_base(access, base)  # an empty cache: fetched here
        with pytest.raises(PatchDoesNotApply) as caught:
            await build_commit(access, base_sha=base, patch=STALE, message="m")
    assert caught.value.message == (
        "the variation's diff no longer applies to its base commit: calc.py"
    )
    assert caught.value.status_code == 409
    leftovers = [p.name for p in access.mirror.parent.iterdir() if p.name.startswith(".delivery")]
    assert leftovers == []  # no temporary index or patch file left behind
