"""`dagger call … --source=DIR` makes the same base commit as the server's snapshot of DIR."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from aideator_dagger import snapshot_rules
from aideator_dagger.containers import AGENT_PYTHON, committed_source

from app.repos import snapshot as server_snapshot
from app.repos.cache import RepoCache


def test_both_skip_the_same_directories() -> None:
    assert snapshot_rules.SKIPPED_DIRS == server_snapshot.SKIPPED_DIRS


def make_folder(root: Path, outside: Path) -> Path:
    files = {
        "a.py": "print(1)\n",
        ".gitignore": "*.log\n",
        "debug.log": "ignored\n",
        "env-any-name/pyvenv.cfg": "home = /usr\n",
        "env-any-name/lib.py": "x\n",
        "node_modules/x.js": "x\n",
        "pkg/.cache/blob": "x\n",
        "pkg/b.txt": "b\n",
        "nested/f.txt": "nested repository\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(root / "nested")], check=True)
    outside.write_text("secret\n")
    (root / "link-out").symlink_to(outside)
    (root / "link-in").symlink_to("a.py")
    return root


def module_commit(folder: Path, scratch: Path) -> str:
    """What the module's exec chain does in the container, run here on a copy."""
    tree = scratch / "workspace"
    shutil.copytree(folder, tree, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    # The copy stands for the upload, which drops only the top-level .git (nested ones stay).
    shutil.copytree(folder / "nested" / ".git", tree / "nested" / ".git")
    prune = [sys.executable, "-I", "-c", snapshot_rules.PRUNE_PROGRAM, str(tree)]
    subprocess.run([*prune, *snapshot_rules.SKIPPED_DIRS], check=True)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": snapshot_rules.SIGNATURE_NAME,
        "GIT_AUTHOR_EMAIL": snapshot_rules.SIGNATURE_EMAIL,
        "GIT_AUTHOR_DATE": snapshot_rules.SIGNATURE_DATE,
        "GIT_COMMITTER_NAME": snapshot_rules.SIGNATURE_NAME,
        "GIT_COMMITTER_EMAIL": snapshot_rules.SIGNATURE_EMAIL,
        "GIT_COMMITTER_DATE": snapshot_rules.SIGNATURE_DATE,
        "GIT_CONFIG_GLOBAL": os.devnull,
    }

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=tree, env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    git("init", "-q")
    git("-c", "core.autocrlf=false", "add", "-A")
    git("commit", "-q", "--no-verify", "--allow-empty", "-m", "snapshot")
    return git("rev-parse", "HEAD")


async def test_the_module_commit_is_the_servers_snapshot(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "project", tmp_path / "outside.txt")
    cache = RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=60)
    server_sha = await cache.prepare(run_id="r1", repo_url=str(folder), ref=None)
    assert module_commit(folder, tmp_path / "module") == server_sha
    assert sorted(listed(tmp_path / "module" / "workspace", server_sha)) == [
        ".gitignore",
        "a.py",
        "link-in",
        "pkg/b.txt",
    ]


def listed(repo: Path, commit: str) -> list[str]:
    done = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", commit],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.split()


def test_the_chain_prunes_then_commits_with_the_fixed_signature() -> None:
    from dagger_chain import calls

    from dagger import dag

    image = dag.container().from_("base")
    tree = committed_source(image, dag.host().directory("project"), "agent")
    execs = [c["args"] for c in calls(tree, "withExec")]
    assert execs[0][:4] == [AGENT_PYTHON, "-I", "-c", snapshot_rules.PRUNE_PROGRAM]
    assert execs[0][5:] == list(snapshot_rules.SKIPPED_DIRS)
    assert execs[1] == ["git", "init", "-q"]
    commit = execs[-1]
    assert f"GIT_COMMITTER_DATE={snapshot_rules.SIGNATURE_DATE}" in commit
    assert commit[-3:] == ["--allow-empty", "-m", "snapshot"]
