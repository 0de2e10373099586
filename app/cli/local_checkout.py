"""Apply a variation's patch to a user's own checkout: clean-tree check, three-way merge."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.cli.errors import CliError
from app.delivery.commit import failed_files

_CONFLICT = re.compile(r"^(?:U (.+)|Applied patch to '(.+)' with conflicts\.)$", re.MULTILINE)


@dataclass(frozen=True)
class FileChange:
    """One file the patch changes: lines added and removed (None for binary files)."""

    path: str
    added: int | None
    removed: int | None


def _git(
    checkout: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(checkout), *args],
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else os.environ | env,
    )


def checkout_root(path: Path) -> Path:
    """The top of the git checkout `path` is in; a clear error when it is none."""
    if not path.is_dir():
        raise CliError(f"{path} is not a directory")
    found = _git(path, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise CliError(f"{path} is not a git checkout", hint="pass one with --path DIR")
    return Path(found.stdout.strip())


def dirty_files(root: Path) -> list[str]:
    """Paths with uncommitted changes, untracked files included."""
    status = _git(root, "status", "--porcelain", "--untracked-files=normal")
    return [line[3:] for line in status.stdout.splitlines() if line.strip()]


def _changes(root: Path, patch_file: str) -> list[FileChange]:
    numstat = _git(root, "apply", "--numstat", patch_file).stdout
    changes = []
    for line in numstat.splitlines():
        added, removed, path = line.split("\t", 2)
        changes.append(
            FileChange(
                path,
                None if added == "-" else int(added),
                None if removed == "-" else int(removed),
            )
        )
    return changes


def _conflicts(root: Path, patch_file: str) -> list[str] | None:
    """Files a three-way apply would leave in conflict (tried on a scratch index), or None."""
    with tempfile.TemporaryDirectory(prefix="aideator-apply-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(root, "read-tree", "HEAD", env=env)
        tried = _git(root, "apply", "--cached", "--3way", "--binary", patch_file, env=env)
    if tried.returncode == 0:
        return None
    text = tried.stdout + "\n" + tried.stderr
    names = {a or b for a, b in _CONFLICT.findall(text)} | set(failed_files(text))
    return sorted(names) or ["(git named none)"]


def apply_to_checkout(root: Path, patch: str, *, force: bool) -> tuple[list[FileChange], bool]:
    """Apply the patch to the checkout's working tree; (what changed, whether 3-way was needed).

    Refuses a dirty tree unless `force`; refuses, changing nothing, when the base moved so
    far that the patch would leave conflicts (the error names the files).
    """
    dirty = dirty_files(root)
    if dirty and not force:
        shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
        raise CliError(
            f"the checkout has uncommitted changes ({shown})",
            hint="commit or stash them first, or pass --force to apply on top of them",
        )
    with tempfile.NamedTemporaryFile("w", suffix=".patch", delete=False, encoding="utf-8") as f:
        f.write(patch)
    try:
        changes = _changes(root, f.name)
        if _git(root, "apply", "--check", "--binary", f.name).returncode == 0:
            direct = _git(root, "apply", "--binary", "--whitespace=nowarn", f.name)
            if direct.returncode != 0:
                raise CliError(f"git apply failed: {direct.stderr.strip()[-500:]}")
            return changes, False
        conflicts = _conflicts(root, f.name)
        if conflicts is not None:
            raise CliError(
                "the base moved and the patch no longer applies: conflicts in "
                + ", ".join(conflicts),
                hint="nothing was changed; update the run's base or resolve by hand "
                "(aideator runs diff RUN N | git apply --3way)",
            )
        merged = _git(root, "apply", "--3way", "--binary", "--whitespace=nowarn", f.name)
        if merged.returncode != 0:
            raise CliError(f"git apply --3way failed: {merged.stderr.strip()[-500:]}")
        return changes, True
    finally:
        os.unlink(f.name)
