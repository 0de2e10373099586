"""A repository's obvious test command, offered when a run has no check command."""

from __future__ import annotations

import json
from pathlib import Path

_PYTEST_MARKERS = ("pytest.ini", "conftest.py", "tests/conftest.py")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return ""


def _npm_test(root: Path) -> bool:
    try:
        scripts = json.loads(_read(root / "package.json") or "{}").get("scripts") or {}
    except (ValueError, AttributeError):
        return False
    test = scripts.get("test") if isinstance(scripts, dict) else None
    # `npm init` writes a test script that only fails: not a test suite.
    return isinstance(test, str) and bool(test.strip()) and "no test specified" not in test


def _python_tests(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder in (root, root / "tests", root / "test"):
        if folder.is_dir():
            found += sorted(folder.glob("test_*.py"))[:50]
    return found


def _pytest(root: Path) -> bool:
    if any((root / name).is_file() for name in _PYTEST_MARKERS):
        return True
    for name in ("pyproject.toml", "setup.cfg", "tox.ini"):
        text = _read(root / name)
        if "[tool.pytest" in text or "[pytest]" in text or "[tool:pytest]" in text:
            return True
    return False


def detect_check_command(root: Path) -> str | None:
    """`cargo test`, `go test ./...`, `npm test`, pytest or unittest when one is obvious."""
    if (root / "Cargo.toml").is_file():
        return "cargo test"
    if (root / "go.mod").is_file():
        return "go test ./..."
    if (root / "package.json").is_file() and _npm_test(root):
        return "npm test"
    if _pytest(root):
        return "python3 -m pytest -q"
    tests = _python_tests(root)
    if any("pytest" in _read(t) for t in tests):
        return "python3 -m pytest -q"
    if any("unittest" in _read(t) for t in tests):
        return "python3 -m unittest -q"
    return None
