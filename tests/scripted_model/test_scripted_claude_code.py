"""The real Claude Code CLI, pointed at the scripted model, edits a git copy of the sample repo."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from .claude_cli import (
    CLAUDE_BIN,
    expected_tree,
    git_copy,
    normalize_transcript,
    run,
    run_claude,
    transcript_shape,
    tree,
)

pytestmark = pytest.mark.skipif(not CLAUDE_BIN.exists(), reason="bundled Claude Code missing")

FIXTURE = Path(__file__).parents[1] / "fixtures" / "claude-stream-json" / "fix-correct.jsonl"
# Set to regenerate the fixture from a fresh run (then review the diff of the fixture).
UPDATE_FIXTURE = os.environ.get("UPDATE_FIXTURES") == "1"


@pytest.fixture
async def workspace(tmp_path: Path, sample_repo: Path) -> Path:
    """A fresh git repository holding the sample repo, committed as the base."""
    path = tmp_path / "ws"
    await git_copy(sample_repo, path)
    return path


async def check_passes(workspace: Path) -> bool:
    """Run the sample repo's check command; True when the tests pass."""
    done = await run("python3", "-m", "unittest", "-q", cwd=workspace)
    return done.returncode == 0


async def git(workspace: Path, *args: str) -> str:
    done = await run("git", *args, cwd=workspace)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("scenario", "passes", "changed"),
    [
        ("fix-correct", True, ["numstats/summary.py"]),
        ("fix-alt", True, ["numstats/summary.py"]),
        ("fix-bad", False, ["numstats/summary.py"]),
        ("no-change", False, []),
        ("synthesize-median", True, ["numstats/summary.py", "tests/test_summary.py"]),
    ],
)
async def test_scenario_makes_exactly_its_change(
    scenario: str,
    passes: bool,
    changed: list[str],
    workspace: Path,
    tmp_path: Path,
    sample_repo: Path,
    scripted_url: str,
) -> None:
    assert not await check_passes(workspace)  # the bug is there before the agent runs

    done = await run_claude(scenario, workspace, tmp_path / "home", scripted_url)

    assert done.returncode == 0, done.stderr
    result = done.result()
    assert result["is_error"] is False and result["subtype"] == "success"
    assert result["usage"]["input_tokens"] > 0 and result["usage"]["output_tokens"] > 0
    assert await git(workspace, "diff", "--name-only") == "".join(f"{n}\n" for n in changed)
    assert await git(workspace, "status", "--porcelain", "--untracked-files=all") == "".join(
        f" M {name}\n" for name in changed
    )
    assert tree(workspace) == expected_tree(scenario, sample_repo)
    assert await check_passes(workspace) is passes


async def test_fix_correct_transcript_matches_the_fixture(
    workspace: Path, tmp_path: Path, scripted_url: str
) -> None:
    home = tmp_path / "home"
    done = await run_claude("fix-correct", workspace, home, scripted_url)
    assert done.returncode == 0, done.stderr
    diff = await git(workspace, "diff")
    assert "-    return (ordered[middle] + ordered[middle + 1]) / 2" in diff
    assert "+    return (ordered[middle - 1] + ordered[middle]) / 2" in diff

    text = normalize_transcript(done.stdout, workspace, home)
    assert str(tmp_path) not in text
    if UPDATE_FIXTURE:
        FIXTURE.write_text(text)
    saved = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    fresh = [json.loads(line) for line in text.splitlines()]
    assert transcript_shape(fresh) == transcript_shape(saved)
    assert saved[0]["cwd"] == "/workspace"
    assert "/tmp/" not in FIXTURE.read_text().replace("/tmp/cc-socks/0.sock", "")


async def test_unknown_scenario_fails_cleanly(
    workspace: Path, tmp_path: Path, scripted_url: str
) -> None:
    done = await run_claude("no-such-scenario", workspace, tmp_path / "home", scripted_url)

    assert done.returncode != 0
    result = done.result()
    assert result["is_error"] is True
    assert result["api_error_status"] == 404
    assert await git(workspace, "status", "--porcelain") == ""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
async def test_claude_code_traffic_stays_on_loopback(
    workspace: Path, tmp_path: Path, scripted_url: str
) -> None:
    """Every inet socket Claude Code connects goes to 127.0.0.0/8 or ::1 (no phoning home)."""
    trace = tmp_path / "connect.trace"
    wrapper = ("strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace))

    done = await run_claude(
        "fix-correct", workspace, tmp_path / "home", scripted_url, wrapper=wrapper
    )

    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip("ptrace is not permitted here")
    assert done.returncode == 0, done.stderr
    text = trace.read_text()
    v4 = re.findall(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([\d.]+)"\)', text)
    v6 = re.findall(r'inet_pton\(AF_INET6, "([0-9a-f:.]+)"', text)
    port = scripted_url.rsplit(":", 1)[1]
    assert (port, "127.0.0.1") in v4  # the trace did see the model traffic
    assert all(address.startswith("127.") for _, address in v4), v4
    assert all(address in ("::1", "::ffff:127.0.0.1") for address in v6), v6
