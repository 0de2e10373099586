"""The detected default check command for common project layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.repos.cache import RepoCache
from app.repos.check_command import detect_check_command
from app.runs.check_suggestion import suggest_check_command
from tests.conftest import SAMPLE_REPO, make_git_repo


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


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"Cargo.toml": "[package]\n", "src/lib.rs": ""}, "cargo test"),
        ({"go.mod": "module x\n", "x_test.go": "package x\n"}, "go test ./..."),
        ({"package.json": '{"scripts": {"test": "vitest"}}'}, "npm test"),
        (
            {"pyproject.toml": "[project]\n", "tests/test_a.py": "def test(): pass\n"},
            "python3 -m pytest -q",
        ),
        ({"tests/conftest.py": "", "tests/test_a.py": ""}, "python3 -m pytest -q"),
        ({"README.md": "hi\n", "src/test_a.py": "import pytest\n"}, None),
    ],
)
async def test_detection_on_a_base_tree_from_git_objects(
    tmp_path: Path, files: dict[str, str], expected: str | None
) -> None:
    repo = make_git_repo(tmp_path / "repo", files)
    cache = RepoCache(tmp_path / "cache", allow_local=True)
    base_sha = await cache.prepare(run_id="r1", repo_url=str(repo), ref=None)
    names = await cache.list_files(run_id="r1", base_sha=base_sha)
    assert set(files) - {"src/lib.rs", "src/test_a.py"} <= set(names)
    assert not any(name.startswith("src/") for name in names)
    suggested = await suggest_check_command(cache, run_id="r1", base_sha=base_sha)
    assert suggested == expected
