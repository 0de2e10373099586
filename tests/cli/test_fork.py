"""`aideator runs fork` against a real server: the new run streams, lineage shows everywhere."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from app.cli.commands_fork import fork_body
from app.cli.errors import CliError
from tests.cli.cli_runner import aideator, clean_env, sample_copy
from tests.server_process import ServerProcess, free_port

NOTE = 'echo "$AIDEATOR_PROMPT" >> notes.txt; echo "noted: $AIDEATOR_PROMPT"'


def _finished_run(server: ServerProcess, repo: Path) -> str:
    spec = {"agent": "command", "command": ["sh", "-c", NOTE]}
    body = {"repo_url": str(repo), "prompt": "first note", "variations": [spec]}
    run_id: str = httpx.post(f"{server.url}/api/v1/runs", json=body).json()["run_id"]
    for _ in range(300):
        if httpx.get(f"{server.url}/api/v1/runs/{run_id}").json()["status"] == "succeeded":
            return run_id
        time.sleep(0.1)
    raise AssertionError("run did not finish")


@pytest.mark.e2e
def test_fork_streams_the_new_run_and_shows_lineage(server: ServerProcess, tmp_path: Path) -> None:
    parent = _finished_run(server, sample_copy(tmp_path / "repo"))
    url = server.url
    forked = aideator(
        "runs", "fork", parent[:8], "0", "--prompt", "second note", "-n", "2", "--server", url,
        cwd=tmp_path,
    )  # fmt: skip
    assert forked.returncode == 0, forked.stderr
    assert f"forked from run {parent[:8]} variation 0" in forked.stderr
    assert "noted: second note" in forked.stdout, "the new run's lines are shown live"
    child = httpx.get(f"{url}/api/v1/runs").json()["items"][0]
    assert child["parent"]["run_id"] == parent and child["variation_count"] == 2
    patch = aideator("runs", "diff", child["id"], "1", "--server", url, cwd=tmp_path)
    assert "+first note" in patch.stdout and "+second note" in patch.stdout

    listed = aideator("runs", "list", "--server", url, cwd=tmp_path)
    row = next(line for line in listed.stdout.splitlines() if line.startswith(child["id"][:8]))
    assert f"{parent[:8]}/0" in row
    shown = aideator("runs", "show", child["id"], "--server", url, cwd=tmp_path)
    assert f"forked from: run {parent} variation 0" in shown.stdout

    as_json = aideator(
        "runs", "fork", parent, "0", "-p", "third", "--no-check", "--json", "--server", url,
        cwd=tmp_path,
    )  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    run = json.loads(as_json.stdout)
    assert run["parent"]["run_id"] == parent and run["check_command"] is None
    assert run["status"] == "succeeded" and len(run["variations"]) == 1

    refused = aideator("runs", "fork", parent, "5", "-p", "x", "--server", url, cwd=tmp_path)
    assert refused.returncode != 0 and "no variation 5" in refused.stderr


def test_fork_body_sends_only_what_was_given() -> None:
    assert fork_body(
        "p", variations=None, models=None, check=None, no_check=False, timeout=None,
        budget=None, winner_policy=None,
    ) == {"prompt": "p"}  # fmt: skip
    assert fork_body(
        "p", variations=3, models=["scripted/fix-correct"], check=None, no_check=True,
        timeout=60.0, budget=None, winner_policy="best_score",
    ) == {
        "prompt": "p",
        "variations": 3,
        "agent_config": {"model": "scripted/fix-correct"},
        "check_command": None,
        "timeout_seconds": 60.0,
        "winner_policy": "best_score",
    }  # fmt: skip
    with pytest.raises(CliError, match="exclude each other"):
        fork_body(
            "p", variations=None, models=None, check="true", no_check=True, timeout=None,
            budget=None, winner_policy=None,
        )  # fmt: skip
    with pytest.raises(CliError, match="several --model"):
        fork_body(
            "p", variations=2, models=["a", "b"], check=None, no_check=False, timeout=None,
            budget=None, winner_policy=None,
        )  # fmt: skip


@pytest.mark.e2e
def test_fork_with_an_embedded_server_on_a_local_repository(tmp_path: Path) -> None:
    env = clean_env(
        AIDEATOR_BACKEND="process",
        AIDEATOR_ALLOW_UNSANDBOXED="true",
        AIDEATOR_PORT=str(free_port()),
    )
    repo = sample_copy(tmp_path / "repo")
    spec = {
        "repo_url": str(repo),
        "prompt": "first note",
        "variations": [{"agent": "command", "command": ["sh", "-c", NOTE]}],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    first = aideator("run", "--spec", "spec.json", "--quiet", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    started = re.search(r"run ([0-9a-f-]{36}): 1 variation", first.stderr)
    assert started is not None, first.stderr
    parent = started.group(1)
    forked = aideator("runs", "fork", parent, "0", "-p", "second note", "--json", cwd=tmp_path,
                      env=env)  # fmt: skip
    assert forked.returncode == 0, forked.stderr
    run = json.loads(forked.stdout)
    assert run["parent"]["run_id"] == parent and run["status"] == "succeeded"
