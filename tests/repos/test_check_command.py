"""The detected default check command for common project layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.repos.check_command import detect_check_command
from tests.conftest import SAMPLE_REPO


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"Cargo.toml": "[package]\n"}, "cargo test"),
        ({"go.mod": "module x\n"}, "go test ./..."),
        ({"package.json": '{"scripts": {"test": "jest"}}'}, "npm test"),
        ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "python3 -m pytest -q"),
        ({"tests/test_a.py": "import pytest\n"}, "python3 -m pytest -q"),
        ({"tests/test_a.py": "import unittest\n"}, "python3 -m unittest -q"),
        ({"test_a.py": "import unittest\n"}, "python3 -m unittest -q"),
    ],
)
def test_obvious_commands(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert detect_check_command(_tree(tmp_path, files)) == expected


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"README.md": "hi"},
        {"package.json": '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'},
        {"package.json": "not json"},
        {"src/app.py": "print(1)\n"},
    ],
)
def test_nothing_obvious(tmp_path: Path, files: dict[str, str]) -> None:
    assert detect_check_command(_tree(tmp_path, files)) is None


def test_the_sample_repository_uses_unittest() -> None:
    assert detect_check_command(SAMPLE_REPO) == "python3 -m unittest -q"
