"""A repository's obvious test command, offered when a run has no check command.

The rules work on a file listing (paths relative to the repository root, only the root,
`tests/` and `test/` matter) and the text of a few files, so the same rules serve a local
folder and a commit read from git objects; nothing from the repository is ever run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

_PYTEST_MARKERS = ("pytest.ini", "conftest.py", "tests/conftest.py")
_CONFIGS = ("package.json", "pyproject.toml", "setup.cfg", "tox.ini")
_TEST_FOLDERS = ("", "tests/", "test/")
MAX_TEST_FILES = 50
MAX_CHARS = 200_000


def files_to_read(names: Iterable[str]) -> list[str]:
    """Which of the listed files the rules may read (configs and a few test modules)."""
    listed = set(names)
    wanted = [name for name in _CONFIGS if name in listed]
    return wanted + _python_tests(listed)


def _python_tests(names: set[str]) -> list[str]:
    found: list[str] = []
    for folder in _TEST_FOLDERS:
        inside = sorted(
            name
            for name in names
            if name.startswith(folder)
            and "/" not in name[len(folder) :]
            and name[len(folder) :].startswith("test_")
            and name.endswith(".py")
        )
        found += inside[:MAX_TEST_FILES]
    return found


def _npm_test(package_json: str) -> bool:
    try:
        scripts = json.loads(package_json or "{}").get("scripts") or {}
    except (ValueError, AttributeError):
        return False
    test = scripts.get("test") if isinstance(scripts, dict) else None
    # `npm init` writes a test script that only fails: not a test suite.
    return isinstance(test, str) and bool(test.strip()) and "no test specified" not in test


def _pytest(names: set[str], read: Callable[[str], str]) -> bool:
    if any(name in names for name in _PYTEST_MARKERS):
        return True
    for name in ("pyproject.toml", "setup.cfg", "tox.ini"):
        text = read(name) if name in names else ""
        if "[tool.pytest" in text or "[pytest]" in text or "[tool:pytest]" in text:
            return True
    return False


def detect_in_listing(names: Iterable[str], read: Callable[[str], str]) -> str | None:
    """`cargo test`, `go test ./...`, `npm test`, pytest or unittest when one is obvious.

    `names` lists the repository's files (at least its root, `tests/` and `test/`);
    `read(path)` gives a listed file's text ("" when unreadable).
    """
    listed = set(names)
    if "Cargo.toml" in listed:
        return "cargo test"
    if "go.mod" in listed:
        return "go test ./..."
    if "package.json" in listed and _npm_test(read("package.json")):
        return "npm test"
    if _pytest(listed, read):
        return "python3 -m pytest -q"
    tests = _python_tests(listed)
    if any("pytest" in read(t) for t in tests):
        return "python3 -m pytest -q"
    if any("unittest" in read(t) for t in tests):
        return "python3 -m unittest -q"
    if tests and listed & {"pyproject.toml", "setup.py", "setup.cfg"}:
        return "python3 -m pytest -q"  # a Python project with plain test_ modules
    return None


def _listing(root: Path) -> list[str]:
    names: list[str] = []
    for folder in _TEST_FOLDERS:
        where = root / folder if folder else root
        if where.is_dir():
            names += [f"{folder}{child.name}" for child in where.iterdir() if child.is_file()]
    return names


def detect_check_command(root: Path) -> str | None:
    """The obvious test command of a local folder (see `detect_in_listing`)."""

    def read(name: str) -> str:
        try:
            return (root / name).read_text(encoding="utf-8", errors="replace")[:MAX_CHARS]
        except OSError:
            return ""

    return detect_in_listing(_listing(root), read)


def detect_from_texts(names: Iterable[str], texts: dict[str, str]) -> str | None:
    """`detect_in_listing` over files already read (`files_to_read` says which)."""
    return detect_in_listing(names, lambda name: texts.get(name, "")[:MAX_CHARS])
