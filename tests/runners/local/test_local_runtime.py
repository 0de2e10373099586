"""The agent's runtime in the sandbox: neutral paths, none of the server's interpreter or home."""

from __future__ import annotations

import sys
from pathlib import Path

from app.runners.local import LocalRunner
from app.runners.local.runtime import AGENT_DIR, CLAUDE_BIN
from tests.runners.local.test_local_support import (
    command_job,
    needs_bwrap,
    run_job,
    sandbox_settings,
    stdout_texts,
    workspace,
)

pytestmark = needs_bwrap

PROBE = (
    "echo python=$(command -v python3); "
    'python3 -c "import sys; print(\\"prefix=\\" + sys.prefix)"; '
    'python3 -c "import fastapi" 2>/dev/null && echo server-packages || echo no-server-packages; '
    'echo "pythonpath=${PYTHONPATH:-none}"; '
    f"for p in /root {sys.prefix} {sys.base_prefix}; do "
    "test -e $p && echo visible=$p || echo hidden=$p; done"
)


async def test_agent_commands_see_system_tools_not_the_server(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    lines, final = await run_job(runner, command_job(tree, sha, PROBE))
    texts = stdout_texts(lines)
    assert final.exit_code == 0, texts
    python = next(t for t in texts if t.startswith("python="))
    assert python.removeprefix("python=") in ("/usr/bin/python3", "/usr/local/bin/python3")
    assert python.removeprefix("python=") != sys.executable
    assert f"prefix={sys.prefix}" not in texts
    assert "no-server-packages" in texts
    assert "pythonpath=none" in texts
    for path in ("/root", sys.prefix, sys.base_prefix):
        assert f"hidden={path}" in texts, texts


async def test_runtime_sits_at_the_neutral_path(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    script = f"ls {AGENT_DIR}; test -x {CLAUDE_BIN} && echo claude-ok; echo $AIDEATOR_CLAUDE_BIN"
    lines, final = await run_job(runner, command_job(tree, sha, script))
    texts = stdout_texts(lines)
    assert final.exit_code == 0
    assert "aideator_agent" in texts and "claude-ok" in texts and CLAUDE_BIN in texts


async def test_workspace_venv_comes_first_for_agent_and_check(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    tool = tree / ".venv" / "bin" / "projecttool"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho from-the-workspace-venv\n")
    tool.chmod(0o755)
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    job = command_job(tree, sha, "projecttool; echo venv=$VIRTUAL_ENV")
    lines, final = await run_job(runner, job)
    assert final.exit_code == 0
    assert stdout_texts(lines)[:2] == ["from-the-workspace-venv", "venv=/workspace/.venv"]
    check = await runner.check(job, "command -v projecttool", timeout=30)
    assert check.output_tail.strip() == "/workspace/.venv/bin/projecttool"
