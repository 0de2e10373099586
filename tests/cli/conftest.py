"""CLI tests run `aideator` as a subprocess against one real server for the whole directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.cli_runner import CHECK, PROMPT, Compared, aideator, sample_copy
from tests.server_process import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server (process backend, scripted model) for every CLI test."""
    srv = ServerProcess(tmp_path_factory.mktemp("cli-server")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def shared_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample repository, committed, shared by the CLI tests (agents work on worktrees)."""
    return sample_copy(tmp_path_factory.mktemp("cli-repo"))


@pytest.fixture(scope="session")
def compared(
    server: ServerProcess, shared_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Compared:
    """fix-bad, fix-correct, no-change compared once; tests read the report and the run."""
    work = tmp_path_factory.mktemp("cli-compare")
    result = aideator(
        "compare",
        "--server",
        server.url,
        "--repo",
        str(shared_repo),
        "--prompt",
        PROMPT,
        "-m",
        "scripted/fix-bad",
        "-m",
        "scripted/fix-correct",
        "-m",
        "scripted/no-change",
        "--check",
        CHECK,
        "--report-dir",
        "out",
        cwd=work,
    )
    report_path = work / "out" / "report.json"
    assert report_path.is_file(), result.stderr
    return Compared(result, work / "out", json.loads(report_path.read_text()))
