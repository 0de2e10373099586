"""Resource limits and teardown of the local sandbox (G7): each hostile variation ends alone,
with a recorded reason, and no process of a run outlives it, its cancellation or the server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.runners.base import AgentExit
from app.runners.local import LocalRunner
from app.runners.local.limits import plan_limits
from tests.conftest import command_spec, wait_finished
from tests.runners.local.test_local_support import (
    command_job,
    needs_bwrap,
    processes_with,
    sandbox_settings,
    with_command,
    workspace,
)

pytestmark = needs_bwrap

RUNS = "/api/v1/runs"
MEMORY_MB = 256
PIDS_MAX = 64

MEMORY_HOG = "x = []\nwhile True:\n    x.append(b'x' * 10_000_000)\n"


async def _gone(marker: str, within: float = 5.0) -> list[int]:
    """Wait until no host process carries `marker`; return the survivors."""
    deadline = time.monotonic() + within
    while True:
        alive = await asyncio.to_thread(processes_with, marker)
        if not alive or time.monotonic() > deadline:
            return alive
        await asyncio.sleep(0.1)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The server on the local backend with small limits, in-process."""
    settings = sandbox_settings(
        tmp_path, sandbox_memory_mb=MEMORY_MB, sandbox_pids_max=PIDS_MAX, sandbox_cpus=0.5
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def _spec(script: str, marker: str) -> dict[str, Any]:
    return command_spec(script) | {"env": {"TEST_MARKER": marker}}


async def test_each_limit_ends_only_its_own_variation(
    client: httpx.AsyncClient, git_repo: Path, tmp_path: Path
) -> None:
    marker = f"limits-{uuid.uuid4().hex}"
    hog = command_spec("") | {
        "command": ["python3", "-c", MEMORY_HOG],
        "env": {"TEST_MARKER": marker},
    }
    body = {
        "repo_url": str(git_repo),
        "prompt": "misbehave",
        "timeout_seconds": 6,
        "variations": [
            _spec("echo fine > fine.txt; echo done", marker),
            _spec("f() { f | f & }; f; sleep 100", marker),  # fork bomb
            hog,
            _spec("while :; do :; done", marker),  # CPU spin
            _spec("sleep 1000", marker),
        ],
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    started = time.monotonic()
    run = await wait_finished(client, res.json()["run_id"], timeout=90)
    elapsed = time.monotonic() - started
    by_id = {v["variation_id"]: v for v in run["variations"]}

    sibling, bomb, memory, spin, sleeper = (by_id[n] for n in range(5))
    assert sibling["status"] == "succeeded", sibling
    assert sibling["diff_stats"]["files"] == 1
    # The bomb either keeps forking against the cap until the timeout, or dies out and
    # fails with the cap named. With rlimits (no cgroup v2 hierarchy) the cap is seen only by
    # counting the sandbox's tasks, and a bomb can reach it and collapse between two counts
    # (measured: about 1 run in 12 on 2 loaded CPUs, also when counting every 2 ms while
    # processes start): its shell then fails to fork `sleep` and exits 2, the cap enforced
    # but not named. A steady forker gets the cap named: the test below.
    named = f"process limit ({PIDS_MAX}) reached"
    local = sandbox_settings(tmp_path).local_settings  # the server's, as in `client`
    plan = plan_limits(wanted=local.limits, parent=local.cgroup_parent)
    unnamed = () if plan.mode == "cgroups" else ("agent exited 2",)
    assert bomb["status"] == "timed_out" or bomb["error"] in (named, *unnamed), bomb
    assert sleeper["status"] == "timed_out", sleeper
    assert memory["status"] == "failed", memory
    assert memory["error"] in ("agent exited 1", f"memory limit ({MEMORY_MB} MB) exceeded"), memory
    # With rlimits the spin gets SIGXCPU after cpus x timeout CPU seconds (0.5 x 6 = 3 s);
    # with cgroups it is throttled and runs into the wall-clock timeout.
    assert spin["status"] in ("failed", "timed_out"), spin
    if spin["status"] == "failed":
        assert spin["error"] == "CPU time limit (3 s per process) exceeded", spin
    assert elapsed < 30, f"the run took {elapsed:.1f} s"
    assert await _gone(marker) == [], "a process of the run survived it"


async def test_memory_hog_is_stopped_by_the_memory_limit(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path, sandbox_memory_mb=MEMORY_MB).local_settings)
    job = with_command(command_job(tree, sha, ""), ["python3", "-c", MEMORY_HOG])
    async with asyncio.timeout(60):
        items = [item async for item in runner.run(job)]
    final = items[-1]
    assert isinstance(final, AgentExit)
    text = "".join(item for item in items if isinstance(item, str))
    # rlimits: the allocation fails inside the hog; cgroups: the OOM killer ends it.
    assert "MemoryError" in text or final.error == f"memory limit ({MEMORY_MB} MB) exceeded"


async def test_process_limit_caps_forks_and_is_named(tmp_path: Path) -> None:
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path, sandbox_pids_max=PIDS_MAX).local_settings)
    forker = textwrap.dedent(
        f"""
        import os, sys, time
        n = 0
        try:
            while n < 10 * {PIDS_MAX}:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                n += 1
        except OSError as exc:
            print("capped", n, exc.errno, flush=True)
        time.sleep(0.5)
        sys.exit(3)
        """
    )
    job = with_command(command_job(tree, sha, ""), ["python3", "-c", forker])
    async with asyncio.timeout(60):
        items = [item async for item in runner.run(job)]
    final = items[-1]
    capped = [item for item in items if isinstance(item, str) and '"capped ' in item]
    assert capped, items[-5:]
    forked = int(capped[0].split('"capped ')[1].split()[0])
    assert 0 < forked < PIDS_MAX, forked
    assert isinstance(final, AgentExit)
    assert final.error == f"process limit ({PIDS_MAX}) reached", final


async def test_cancelling_a_run_kills_everything_promptly(tmp_path: Path) -> None:
    marker = f"cancel-{uuid.uuid4().hex}"
    tree, sha = workspace(tmp_path / "ws")
    runner = LocalRunner(sandbox_settings(tmp_path).local_settings)
    job = command_job(
        tree, sha, "sleep 1000 & (sleep 1000 &) ; echo up; sleep 1000", env={"TEST_MARKER": marker}
    )
    first = asyncio.Event()

    async def consume() -> None:
        async for item in runner.run(job):
            if isinstance(item, str) and '"up"' in item:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 30)
    assert len(await asyncio.to_thread(processes_with, marker)) >= 3
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - cancelled_at < 1
    assert await _gone(marker, within=3) == []


async def test_no_sandbox_outlives_a_killed_server(tmp_path: Path) -> None:
    marker = f"orphan-{uuid.uuid4().hex}"
    tree, sha = workspace(tmp_path / "ws")
    server = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from app.runners.local import LocalRunner
        from tests.runners.local.test_local_support import command_job, sandbox_settings

        async def main():
            runner = LocalRunner(sandbox_settings(Path({str(tmp_path)!r})).local_settings)
            job = command_job(Path({str(tree)!r}), {sha!r}, "echo up; sleep 1000",
                              env={{"TEST_MARKER": {marker!r}}})
            async for item in runner.run(job):
                if '"up"' in str(item):
                    print("running", flush=True)

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", server, stdout=asyncio.subprocess.PIPE, cwd=os.getcwd()
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            while (line := await process.stdout.readline()) != b"running\n":
                assert line, "the server exited before its sandbox ran"
        assert await asyncio.to_thread(processes_with, marker)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert await _gone(marker, within=5) == [], "the sandbox outlived its server"
