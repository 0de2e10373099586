"""What `run` and `compare` say about the outcome: --quiet, no check, unranked setup failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.cli_runner import CHECK, PROMPT, aideator
from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e


def test_quiet_prints_results_not_agent_lines(
    server: ServerProcess, shared_repo: Path, tmp_path: Path
) -> None:
    res = aideator(
        "run",
        "--server",
        server.url,
        "--repo",
        str(shared_repo),
        "-p",
        PROMPT,
        "-m",
        "scripted/fix-correct",
        "-m",
        "scripted/fix-bad",
        "-c",
        CHECK,
        "--quiet",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    mine = [line for line in lines if line.startswith(("v0 ", "v1 "))]
    assert not any("→ " in line or "← " in line for line in mine), mine
    assert any("■ check passed · 1 file(s) +1/-1" in line for line in mine)
    assert any("■ check failed" in line for line in mine)
    assert len(mine) <= 8, mine  # a result and a final status per variation, not 100 lines
    assert any(line.startswith("no winner recorded — suggested: variation 0") for line in lines)


def test_without_a_check_the_ranking_is_called_what_it_is(
    server: ServerProcess, shared_repo: Path, tmp_path: Path
) -> None:
    res = aideator(
        "run",
        "--server",
        server.url,
        "--repo",
        str(shared_repo),
        "-p",
        PROMPT,
        "-m",
        "scripted/fix-bad",
        "-q",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "ranking is by diff, cost and time only" in res.stderr
    # The sample's tests use unittest: that is offered, not silently used.
    assert "add --check 'python3 -m unittest -q' to use it" in res.stderr
    assert "no check command: nothing tested the variations" in res.stdout
    assert "unrecognized_model" not in res.stdout


def test_compare_names_a_clone_failure_and_ranks_nothing(
    server: ServerProcess, shared_repo: Path, tmp_path: Path
) -> None:
    res = aideator(
        "compare",
        "--server",
        server.url,
        "--repo",
        str(shared_repo),
        "--ref",
        "no-such-branch",
        "-p",
        PROMPT,
        "-m",
        "scripted/fix-correct",
        "-m",
        "scripted/fix-bad",
        "-c",
        CHECK,
        "-o",
        str(tmp_path / "rep"),
        cwd=tmp_path,
    )
    assert res.returncode == 2, res.stdout + res.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    cause = report["run"]["error"].splitlines()[0]
    assert "no-such-branch" in cause
    assert all(v["rank"] is None and v["score"] is None for v in report["variations"])
    md = (tmp_path / "rep" / "report.md").read_text()
    assert f"**Run error:** {cause}" in md
    assert f"not ranked: {cause}" in res.stdout
    assert "pick one" not in res.stdout
    assert "no variation produced a result to judge" in res.stdout
