"""Local folders as repositories: a folder that is not a repository's root is snapshotted."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.errors import RepoError
from app.repos.cache import RepoCache
from tests.conftest import command_spec, wait_finished

from .conftest import git


@pytest.fixture
def cache(tmp_path: Path) -> RepoCache:
    return RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=60)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tree_files(root: Path) -> dict[str, str]:
    """Every file and symlink under root except .git: text, or `-> target` for a link."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == ".git":
            continue
        if path.is_symlink():
            found[rel.as_posix()] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[rel.as_posix()] = path.read_text()
    return found


async def snapshot_tree(cache: RepoCache, folder: Path, run_id: str = "r1") -> dict[str, str]:
    sha = await cache.prepare(run_id=run_id, repo_url=str(folder), ref=None)
    workspace = await cache.add_worktree(run_id=run_id, variation_id=0, base_sha=sha)
    return tree_files(workspace)


class TestSnapshot:
    async def test_plain_folder_becomes_one_commit(self, cache: RepoCache, tmp_path: Path) -> None:
        folder = write(tmp_path / "plain", {"a.py": "print(1)\n", "pkg/b.txt": "b\n"})
        assert await snapshot_tree(cache, folder) == {"a.py": "print(1)\n", "pkg/b.txt": "b\n"}
        source = cache.source_of("r1")
        assert source["source"] == "snapshot" and len(source["tree"]) == 40
        assert not (folder / ".git").exists()  # the user's folder is left as it was

    async def test_same_files_same_commit_and_changes_seen(
        self, cache: RepoCache, tmp_path: Path
    ) -> None:
        folder = write(tmp_path / "plain", {"a.py": "1\n"})
        first = await cache.prepare(run_id="r1", repo_url=str(folder), ref=None)
        again = await cache.prepare(run_id="r2", repo_url=str(folder), ref=None)
        assert first == again
        write(folder, {"a.py": "2\n"})
        changed = await cache.prepare(run_id="r3", repo_url=str(folder), ref=None)
        assert changed != first
        # A run that started from the first snapshot still finds its base commit.
        old = await cache.add_worktree(run_id="r1", variation_id=0, base_sha=first)
        assert (old / "a.py").read_text() == "1\n"

    async def test_gitignore_and_builtin_skips(self, cache: RepoCache, tmp_path: Path) -> None:
        folder = write(
            tmp_path / "proj",
            {
                ".gitignore": "*.log\nbuild/\n",
                "main.py": "x = 1\n",
                "debug.log": "noise\n",
                "build/out.bin": "bin\n",
                "sub/.gitignore": "secret.txt\n",
                "sub/keep.txt": "k\n",
                "sub/secret.txt": "s\n",
                ".venv/lib/site.py": "v\n",
                "myenv/pyvenv.cfg": "home = /usr\n",
                "myenv/lib/x.py": "v\n",
                "node_modules/left-pad/index.js": "js\n",
                "pkg/__pycache__/m.cpython-311.pyc": "pyc\n",
                ".pytest_cache/v": "c\n",
                "nested/.git/HEAD": "ref: refs/heads/main\n",
                "nested/file.txt": "n\n",
            },
        )
        assert await snapshot_tree(cache, folder) == {
            ".gitignore": "*.log\nbuild/\n",
            "main.py": "x = 1\n",
            "sub/.gitignore": "secret.txt\n",
            "sub/keep.txt": "k\n",
        }

    async def test_subfolder_of_a_repository(self, cache: RepoCache, tmp_path: Path) -> None:
        repo = write(
            tmp_path / "repo",
            {".gitignore": "*.tmp\n", "top.txt": "t\n", "sub/a.py": "a\n", "sub/b.tmp": "b\n"},
        )
        git("init", "-q", "-b", "main", repo)
        git("add", "-A", cwd=repo)
        git("commit", "-qm", "init", cwd=repo)
        head = git("rev-parse", "HEAD", cwd=repo)
        write(repo, {"sub/new.py": "uncommitted\n"})
        # The subfolder: its files as they are on disk, under the repository's ignore rules.
        assert await snapshot_tree(cache, repo / "sub") == {
            "a.py": "a\n",
            "new.py": "uncommitted\n",
        }
        assert cache.source_of("r1")["source"] == "snapshot"
        # The repository's root keeps its behaviour: the commit, without uncommitted files.
        sha = await cache.prepare(run_id="r2", repo_url=str(repo), ref=None)
        assert sha == head and cache.source_of("r2") == {"source": "commit", "sha": head}
        workspace = await cache.add_worktree(run_id="r2", variation_id=0, base_sha=sha)
        assert not (workspace / "sub" / "new.py").exists()

    async def test_symlinks_outside_are_not_followed(
        self, cache: RepoCache, tmp_path: Path
    ) -> None:
        outside = write(tmp_path / "outside", {"secret.txt": "TOP SECRET\n"})
        folder = write(tmp_path / "proj", {"a.txt": "a\n"})
        (folder / "leak.txt").symlink_to(outside / "secret.txt")
        (folder / "leakdir").symlink_to(outside)
        (folder / "up").symlink_to("../outside/secret.txt")
        (folder / "inside").symlink_to("a.txt")
        files = await snapshot_tree(cache, folder)
        assert files == {"a.txt": "a\n", "inside": "-> a.txt"}
        assert "TOP SECRET" not in str(files)

    async def test_empty_folder_is_refused(self, cache: RepoCache, tmp_path: Path) -> None:
        folder = write(tmp_path / "empty", {"node_modules/x.js": "x\n"})
        with pytest.raises(RepoError) as caught:
            await cache.prepare(run_id="r1", repo_url=str(folder), ref=None)
        assert "no files to snapshot" in caught.value.message
        assert caught.value.details == {"field": "repo_url"}

    async def test_ref_is_refused_for_a_folder(self, cache: RepoCache, tmp_path: Path) -> None:
        folder = write(tmp_path / "plain", {"a.txt": "a\n"})
        with pytest.raises(RepoError) as caught:
            await cache.prepare(run_id="r1", repo_url=str(folder), ref="main")
        assert caught.value.details == {"field": "ref"}

    async def test_ref_may_name_an_earlier_snapshot(self, cache: RepoCache, tmp_path: Path) -> None:
        folder = write(tmp_path / "plain", {"a.txt": "a\n"})
        first = await cache.prepare(run_id="r1", repo_url=str(folder), ref=None)
        write(folder, {"a.txt": "changed\n"})
        again = await cache.prepare(run_id="r2", repo_url=str(folder), ref=first)
        assert again == first and cache.source_of("r2")["source"] == "snapshot"
        tree = await cache.add_worktree(run_id="r2", variation_id=0, base_sha=again)
        assert (tree / "a.txt").read_text() == "a\n"
        with pytest.raises(RepoError) as caught:
            await cache.prepare(run_id="r3", repo_url=str(folder), ref="0" * 40)
        assert "not a snapshot of this folder" in caught.value.message
        assert caught.value.details == {"field": "ref"}

    async def test_size_limit_in_the_cache(self, tmp_path: Path) -> None:
        small = RepoCache(tmp_path / "cache", allow_local=True, max_snapshot_bytes=1000)
        folder = write(tmp_path / "big", {"big.bin": "x" * 5000})
        with pytest.raises(RepoError) as caught:
            await small.prepare(run_id="r1", repo_url=str(folder), ref=None)
        assert caught.value.status_code == 422
        assert (caught.value.details or {})["field"] == "repo_url"


class TestThroughTheApi:
    async def test_folder_over_the_limit_is_a_clear_422(
        self, make_settings: Callable[..., Settings], tmp_path: Path
    ) -> None:
        from app.main import create_app

        folder = write(tmp_path / "big", {"big.bin": "x" * 5000, "ignored/x": "y" * 50_000})
        write(folder, {".gitignore": "ignored/\n"})
        app = create_app(make_settings(snapshot_max_bytes=1000))
        body = {"repo_url": str(folder), "prompt": "p", "variations": [command_spec("true")]}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                res = await client.post("/api/v1/runs", json=body)
                assert res.status_code == 422, res.text
                error = res.json()["error"]
                assert error["details"]["field"] == "repo_url"
                assert "1000-byte limit" in error["message"]
                assert "AIDEATOR_SNAPSHOT_MAX_BYTES" in error["message"]
                # Under the limit once the big file is gone (the ignored folder never counted).
                (folder / "big.bin").unlink()
                write(folder, {"small.txt": "s\n"})
                res = await client.post("/api/v1/runs", json=body)
                assert res.status_code == 202, res.text
                await wait_finished(client, res.json()["run_id"])

    async def test_manifest_says_snapshot(self, client: httpx.AsyncClient, tmp_path: Path) -> None:
        folder = write(tmp_path / "plain", {"a.txt": "a\n"})
        spec = command_spec("echo changed > a.txt")
        res = await client.post(
            "/api/v1/runs", json={"repo_url": str(folder), "prompt": "p", "variations": [spec]}
        )
        assert res.status_code == 202, res.text
        run = await wait_finished(client, res.json()["run_id"])
        manifest = run["variations"][0]["manifest"]
        assert manifest["source"] == "snapshot" and len(manifest["snapshot_tree"]) == 40
        assert manifest["base_sha"] == run["base_sha"]
        diff = await client.get(f"/api/v1/runs/{run['id']}/variations/0/diff")
        assert "+changed" in diff.text

    async def test_manifest_says_commit(self, client: httpx.AsyncClient, git_repo: Path) -> None:
        spec = command_spec("true")
        res = await client.post(
            "/api/v1/runs", json={"repo_url": str(git_repo), "prompt": "p", "variations": [spec]}
        )
        run = await wait_finished(client, res.json()["run_id"])
        manifest = run["variations"][0]["manifest"]
        assert manifest["source"] == "commit" and "snapshot_tree" not in manifest
        assert manifest["base_sha"] == git("rev-parse", "HEAD", cwd=git_repo)


async def test_an_unreadable_folder_inside_is_a_clear_error(
    cache: RepoCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write(tmp_path / "plain", {"a.py": "x\n", "locked/b.txt": "b\n"})
    real_exists = Path.exists

    def exists(self: Path, *args: object, **kwargs: object) -> bool:
        if "locked" in self.parts:  # root reads everything: stand in for EACCES
            raise PermissionError(13, "Permission denied", str(self))
        return real_exists(self)

    monkeypatch.setattr(Path, "exists", exists)
    with pytest.raises(RepoError) as caught:
        await cache.prepare(run_id="r1", repo_url=str(folder), ref=None)
    assert caught.value.details["field"] == "repo_url"
    assert "cannot read" in caught.value.message and "locked" in caught.value.message
