"""The check command runs in a fresh sandbox on the variation's tree, with its own timeout."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from app.runners.local import LocalRunner
from tests.runners.local.test_local_support import (
    command_job,
    needs_bwrap,
    processes_with,
    run_job,
    sandbox_settings,
    workspace,
)

pytestmark = needs_bwrap


async def test_check_sees_the_tree_but_not_the_agents_sandbox(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    agent = "echo private > /tmp/note; echo change > new.txt; sleep 30 & echo done"
    job = command_job(tree, sha, agent, gateway_token="tok", gateway_socket=None)
    _, final = await run_job(runner, job)
    assert final.exit_code == 0

    check = await runner.check(
        job,
        "cat /tmp/note || echo no-note; cat new.txt; ps -e | grep -c sleep; "
        'python3 -c "import sys; print(sys.version_info[0])"; '
        'echo "url=${ANTHROPIC_BASE_URL:-none} key=${ANTHROPIC_API_KEY:-none}"',
        timeout=30,
    )
    lines = check.output_tail.splitlines()
    assert check.exit_code == 0, check.output_tail
    assert not check.timed_out
    assert "no-note" in lines  # the agent's /tmp stayed with the agent's sandbox
    assert "change" in lines  # the workspace change is there
    assert "0" in lines  # no process of the agent's sandbox (its `sleep 30`) is visible
    assert "3" in lines  # python3 runs inside (the sample repo's check needs it)
    assert "url=none key=none" in lines  # the check gets no gateway


async def test_check_reports_status_and_merged_output(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    check = await runner.check(
        command_job(tree, sha, "true"), "echo out; echo err >&2; exit 3", timeout=30
    )
    assert check.exit_code == 3
    assert check.output_tail.splitlines() == ["out", "err"]
    assert check.duration_seconds > 0


async def test_check_timeout_kills_the_check(tmp_path: Path) -> None:
    marker = f"check-{uuid.uuid4().hex}"
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    started = time.monotonic()
    check = await runner.check(
        command_job(tree, sha, "true"), f"sleep 300 # {marker}\nsleep 300", timeout=1.5
    )
    assert check.timed_out
    assert check.exit_code is None
    assert "[check timed out after 1.5 s]" in check.output_tail
    assert time.monotonic() - started < 6
    assert processes_with(marker) == []
