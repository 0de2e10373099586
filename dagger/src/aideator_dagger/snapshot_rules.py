"""What a `--source` directory's base commit leaves out: the server's snapshot rule.

The server (`app/repos/snapshot.py`) and this module must agree; a test compares both.
"""

from __future__ import annotations

# Directories never part of a snapshot, at any depth (beside any folder holding a
# `pyvenv.cfg`, i.e. a virtualenv of any name, and nested repositories).
SKIPPED_DIRS = (
    ".git",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".cache",
)
# Fixed author, committer and date: the commit id depends on the files only.
SIGNATURE_NAME = "AIdeator snapshot"
SIGNATURE_EMAIL = "snapshot@aideator.invalid"
SIGNATURE_DATE = "@0 +0000"  # git reads "@<seconds>" as a Unix time

# Run in the container (standard library only) on the uploaded tree before `git add -A`,
# which then applies the tree's own `.gitignore` files.
PRUNE_PROGRAM = """
import os, shutil, sys
root = os.path.realpath(sys.argv[1])
skipped = set(sys.argv[2:])
for here, dirs, files in os.walk(root):
    kept = []
    for name in dirs:
        path = os.path.join(here, name)
        if os.path.islink(path):
            files.append(name)
        elif (
            name in skipped
            or os.path.exists(os.path.join(path, "pyvenv.cfg"))
            or os.path.lexists(os.path.join(path, ".git"))
        ):
            shutil.rmtree(path)
        else:
            kept.append(name)
    dirs[:] = kept
    for name in files:
        path = os.path.join(here, name)
        if os.path.islink(path):
            target = os.path.realpath(path)
            if target != root and not target.startswith(root + os.sep):
                os.unlink(path)
"""
