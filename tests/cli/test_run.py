"""`aideator run`: every variation's lines and the final table; a spec file; Ctrl-C cancels."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from tests.cli.cli_runner import CHECK, PROMPT, aideator
from tests.cli.watched_cli import WatchedCli, signal_state
from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e


def test_run_shows_every_variations_lines_and_the_table(
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
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "scripted model, not Claude" in res.stderr
    lines = res.stdout.splitlines()
    correct = [line for line in lines if line.startswith("v0 scripted/fix-correct │ ")]
    bad = [line for line in lines if line.startswith("v1 scripted/fix-bad     │ ")]
    # Each scenario's own words, tool calls and the end of each variation.
    assert any("I'll start by reading the failing test" in line for line in correct)
    assert any("→ Edit numstats/summary.py" in line for line in correct)
    assert any("■ check passed · 1 file(s) +1/-1" in line for line in correct)
    assert any("The failing test expects 2.5" in line for line in bad)
    assert any("■ check failed" in line for line in bad)
    assert any(line.endswith("■ succeeded") for line in correct + bad)
    # Lines stream interleaved, not one variation after the other... and end in the table.
    table_at = next(i for i, line in enumerate(lines) if line.startswith("run ") and "·" in line)
    assert table_at > max(lines.index(correct[-1]), lines.index(bad[-1]))
    rows = lines[table_at:]
    assert any("scripted/fix-correct" in r and "passed" in r and "$" in r for r in rows)
    assert any("scripted/fix-bad" in r and "failed (1)" in r for r in rows)
    assert any(line.startswith("no winner recorded") for line in rows)
    assert "#/runs/" in res.stdout


def test_run_from_a_spec_file(server: ServerProcess, shared_repo: Path, tmp_path: Path) -> None:
    # The repository path is relative to the spec file; flags override the file's fields.
    spec_dir = shared_repo.parent
    spec = spec_dir / "run-spec.yaml"
    spec.write_text(
        "repo_url: sample-repo\n"
        "prompt: |\n  Add a file.\n"
        "variations:\n"
        "  - {agent: command, command: [sh, -c, 'echo made > made.txt; echo wrote it']}\n"
        "  - {agent: command, command: [sh, -c, 'echo nothing to do']}\n"
        "check_command: test -f made.txt\n"
        "winner_policy: manual\n"
    )
    res = aideator(
        "run",
        "--spec",
        str(spec),
        "--winner-policy",
        "best_score",
        "--server",
        server.url,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert any(x.startswith("v0 command: sh -c") and x.endswith("│ wrote it") for x in lines)
    assert any(x.startswith("v1 command: sh -c") and x.endswith("│ nothing to do") for x in lines)
    assert "★ winner: variation 0 (selected by policy: top score of 2: check passed)" in res.stdout
    run_id = res.stdout.split("#/runs/")[1].split()[0]
    run = httpx.get(f"{server.url}/api/v1/runs/{run_id}").json()
    assert run["repo_url"] == str(shared_repo) and run["winner_policy"] == "best_score"


@pytest.mark.parametrize(
    ("started_as", "signum"),
    [("foreground", signal.SIGINT), ("background", signal.SIGTERM)],
    ids=["ctrl-c", "sigterm-with-sigint-ignored"],
)
def test_ctrl_c_cancels_the_run(
    server: ServerProcess, shared_repo: Path, tmp_path: Path, started_as: str, signum: int
) -> None:
    # A script's background job starts with SIGINT ignored and keeps it so (as every program
    # does); SIGTERM, what `kill` and CI timeouts send, cancels it the same way.
    slow = json.dumps({"agent": "command", "command": ["sh", "-c", "echo started; sleep 60"]})
    spec = tmp_path / "slow.json"
    spec.write_text(
        json.dumps(
            {"repo_url": str(shared_repo), "prompt": "wait", "variations": [json.loads(slow)] * 2}
        )
    )
    cli = WatchedCli(
        "run",
        "--spec",
        str(spec),
        "--server",
        server.url,
        cwd=tmp_path,
        background=started_as == "background",
        notes=lambda: "server log tail:\n" + server.log_path.read_text()[-3000:],
    )
    cli.wait_for(
        lambda lines: sum("│ started" in line for line in lines) >= 2,
        "both variations print '│ started'",
        timeout=60,
    )
    if started_as == "background":
        assert "SIGINT: ignored" in signal_state(cli.proc.pid)
    cli.interrupt(signum)
    returncode = cli.wait_exit(f"exit after {signal.Signals(signum).name}", timeout=60)
    stdout, stderr = "".join(cli.stdout), "".join(cli.stderr)
    assert returncode == 130, stderr
    assert "Ctrl-C: cancelling the run" in stderr and "Traceback" not in stderr
    assert "cancelled" in stdout
    run_id = stdout.split("#/runs/")[1].split()[0]
    run = httpx.get(f"{server.url}/api/v1/runs/{run_id}").json()
    assert run["status"] == "cancelled"
    assert [v["status"] for v in run["variations"]] == ["cancelled", "cancelled"]


def test_compare_stops_early_from_the_flag(server: ServerProcess, tmp_path: Path) -> None:
    from tests.conftest import make_git_repo

    repo = make_git_repo(tmp_path / "repo", {"README.md": "hi\n"})
    spec = tmp_path / "spec.json"
    sleeper = {"agent": "command", "command": ["sh", "-c", "echo wip > wip.txt; sleep 600.5309"]}
    fast = {"agent": "command", "command": ["sh", "-c", "sleep 0.5; touch ok"]}
    spec.write_text(
        json.dumps({"repo_url": str(repo), "prompt": "make ok", "variations": [fast, sleeper]})
    )
    res = aideator(
        "compare",
        "--server",
        server.url,
        "--spec",
        str(spec),
        "-c",
        "test -f ok",
        "--early-stop",
        "first_pass",
        "-o",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    stopped = report["variations"][1]
    assert stopped["status"] == "cancelled", stopped
    assert stopped["error"] == "stopped early: variation 0 passed"
    assert report["winner"]["variation_id"] == 0, report["winner"]


def test_run_with_a_setup_command(server: ServerProcess, shared_repo: Path, tmp_path: Path) -> None:
    spec = tmp_path / "setup-spec.yaml"
    spec.write_text(
        f"repo_url: {shared_repo}\nprompt: Add a file.\n"
        "variations:\n"
        "  - {agent: command, command: [sh, -c, 'cat prepared.txt; echo x > mine.txt']}\n"
    )
    res = aideator(
        "run",
        "--spec",
        str(spec),
        "--setup",
        "echo ready > prepared.txt; echo setup-says-hi",
        "--check",
        "test -f prepared.txt && test -f mine.txt",
        "--server",
        server.url,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "setup │ setup-says-hi" in lines
    assert any(line.startswith("setup │ setup: done in") for line in lines)
    assert any(line.endswith("│ ready") for line in lines)  # the agent saw setup's file
    run_id = res.stdout.split("#/runs/")[1].split()[0]
    run = httpx.get(f"{server.url}/api/v1/runs/{run_id}").json()
    assert run["setup"]["source"] == "spec" and run["variations"][0]["check"]["passed"]
    diff = httpx.get(f"{server.url}/api/v1/runs/{run_id}/variations/0/diff").text
    assert "mine.txt" in diff and "prepared.txt" not in diff
