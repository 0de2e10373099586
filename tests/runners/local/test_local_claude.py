"""The real Claude Code CLI in the bubblewrap sandbox, through the gateway's Unix socket, against
the scripted model: it fixes the sample repository, and the check passes in a fresh sandbox.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import claude_agent_sdk
import pytest

from app.gateway import Gateway, Usage
from app.gateway.listener import Listener, bind_tcp
from app.runners.base import AgentSpec, VariationJob
from app.runners.local import LocalRunner
from app.scripted_model import create_app as scripted_app
from tests.conftest import GIT_ID
from tests.runners.local.test_local_support import needs_bwrap, result_of, run_job, sandbox_settings

CLAUDE_BIN = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
SAMPLE_REPO = Path(__file__).resolve().parents[3] / "examples" / "sample-repo"
PROMPT = "The median test fails for lists of even length. Fix numstats."
CHECK = "python3 -m unittest -q"

pytestmark = [
    needs_bwrap,
    pytest.mark.skipif(not CLAUDE_BIN.exists(), reason="bundled Claude Code missing"),
]


@pytest.fixture
async def scripted_url() -> AsyncIterator[str]:
    """The scripted model on a real uvicorn, 127.0.0.1, any free port."""
    sock = bind_tcp("127.0.0.1", 0)
    listener = Listener(scripted_app(), graceful_shutdown_seconds=1)
    await listener.start([sock])
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    await listener.stop()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory: Unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="gw-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def gateway(scripted_url: str, short_dir: Path) -> AsyncIterator[tuple[Gateway, list[str]]]:
    """The real gateway in front of the scripted model, serving on a Unix socket."""
    metered: list[str] = []

    async def on_usage(run_id: str, variation_id: int, usage: Usage, cost: float) -> None:
        metered.append(f"{run_id}/{variation_id}")

    async def on_budget(run_id: str, variation_id: int, message: str) -> None:
        raise AssertionError(message)

    gw = Gateway(
        upstream_url=scripted_url, api_key=None, on_usage=on_usage, on_budget_exhausted=on_budget
    )
    await gw.start(unix_socket=short_dir / "gateway.sock")
    yield gw, metered
    await gw.stop()


def sample_workspace(path: Path) -> str:
    """A git copy of the sample repository; returns its base commit."""
    shutil.copytree(SAMPLE_REPO, path)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*GIT_ID, "commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(path), *args], check=True)
    done = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True)
    return done.stdout.decode().strip()


async def test_claude_code_fixes_the_sample_repo_inside_the_sandbox(
    tmp_path: Path, gateway: tuple[Gateway, list[str]]
) -> None:
    gw, metered = gateway
    tree = tmp_path / "ws"
    base = await asyncio.to_thread(sample_workspace, tree)
    gw.open_run("run-cc", budget_usd=None)
    job = VariationJob(
        run_id="run-cc",
        variation_id=0,
        prompt=PROMPT,
        spec=AgentSpec(agent="claude-code", model="scripted/fix-correct"),
        workspace=tree,
        repo_url=str(tree),
        base_sha=base,
        timeout_seconds=120,
        gateway_socket=gw.socket_path,
        gateway_token=gw.issue_token("run-cc", 0, model="scripted/fix-correct"),
    )
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    before = await runner.check(job, CHECK, timeout=60)
    assert before.exit_code != 0, before.output_tail  # the bug is there to be fixed

    lines, final = await run_job(runner, job)

    result = result_of(lines)
    assert final.exit_code == 0, final
    assert result["exit_code"] == 0, [line for line in lines if line["type"] == "error"]
    assert result["claude_code_version"], result
    assert result["diff_stats"] == {"files": 1, "insertions": 1, "deletions": 1}
    assert "-    return (ordered[middle] + ordered[middle + 1]) / 2" in result["diff"]
    assert "+    return (ordered[middle - 1] + ordered[middle]) / 2" in result["diff"]
    edits = [
        line for line in lines if line["type"] == "tool_use" and line["data"]["name"] == "Edit"
    ]
    assert len(edits) == 1
    assert metered and set(metered) == {"run-cc/0"}  # every model call went through the gateway
    after = await runner.check(job, CHECK, timeout=60)
    assert after.exit_code == 0, after.output_tail
