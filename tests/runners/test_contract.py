"""The backend contract: every backend that can run here passes the same tests.

Each test drives a real server (uvicorn on loopback, so relayed lines arrive over HTTP)
with the backend the registry builds from the settings: `process`, `local` (bubblewrap)
and `dagger`, whose CLI is the clearly named STAND-IN tests/runners/dagger/fake_dagger_cli.py
(it runs the real agent program on a private clone and relays its lines; no engine here).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.conftest import start_command_run, wait_finished
from tests.server_process import free_port, serving
from tests.sse_client import collect

STAND_IN = Path(__file__).parent / "dagger" / "fake_dagger_cli.py"
BACKENDS = ["process", "local", "dagger"]


def _dagger_stand_in_on_path(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir.mkdir(parents=True)
    wrapper = bin_dir / "dagger"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}")
    monkeypatch.setenv("FAKE_DAGGER_MODE", "agent")


@pytest.fixture(params=BACKENDS)
async def server(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a real server whose runs use the backend under test."""
    backend: str = request.param
    if backend in ("local", "dagger") and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap missing (local sandboxes; dagger checks run in one)")
    if backend == "dagger":
        _dagger_stand_in_on_path(tmp_path / "bin", monkeypatch)
    settings = make_settings(
        backend=backend, port=free_port(), sandbox_memory_mb=1024, sandbox_pids_max=256
    )
    async with serving(settings) as client:
        assert (await client.get("/api/v1/ready")).status_code == 200
        yield client


def _outputs(events: list[Any]) -> list[str]:
    return [e.json.get("text") or "" for e in events if e.event == "agent_output"]


async def test_lines_in_order_result_recorded_and_checked(
    server: httpx.AsyncClient, git_repo: Path
) -> None:
    script = "for i in 1 2 3 4 5 6 7 8; do echo line-$i; done; echo changed > made.txt"
    accepted = await start_command_run(
        server, git_repo, script, check_command="grep -qx changed made.txt"
    )
    events = await collect(server, accepted["stream_url"])
    lines = [t for t in _outputs(events) if t.startswith("line-")]
    assert lines == [f"line-{i}" for i in range(1, 9)]
    run = await wait_finished(server, accepted["run_id"])
    assert run["status"] == "succeeded", run
    variation = run["variations"][0]
    assert variation["status"] == "succeeded" and variation["exit_code"] == 0
    assert variation["diff_stats"]["files"] == 1
    diff = await server.get(f"/api/v1/runs/{accepted['run_id']}/variations/0/diff")
    assert "+changed" in diff.text
    # The check ran on the variation's tree: a backend that skips it fails here.
    assert variation["check"] is not None and variation["check"]["passed"] is True, variation
    assert [e.event for e in events][-1] == "complete"


async def test_failing_check_is_recorded(server: httpx.AsyncClient, git_repo: Path) -> None:
    accepted = await start_command_run(
        server, git_repo, "echo other > made.txt", check_command="grep -qx changed made.txt"
    )
    variation = (await wait_finished(server, accepted["run_id"]))["variations"][0]
    assert variation["check"] is not None and variation["check"]["passed"] is False, variation


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


async def test_cancel_stops_the_agent(server: httpx.AsyncClient, git_repo: Path) -> None:
    marker = f"{3000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    accepted = await start_command_run(server, git_repo, f"echo started; exec sleep {marker}")
    run_id = accepted["run_id"]
    deadline = time.monotonic() + 30
    while not _processes_with(f"sleep {marker}"):
        assert time.monotonic() < deadline, "the agent never started"
        await asyncio.sleep(0.05)
    assert (await server.post(f"/api/v1/runs/{run_id}/cancel")).status_code == 202
    run = await wait_finished(server, run_id)
    assert run["status"] == "cancelled" and run["variations"][0]["status"] == "cancelled"
    deadline = time.monotonic() + 10
    while left := _processes_with(f"sleep {marker}"):
        assert time.monotonic() < deadline, f"agent processes left behind: {left}"
        await asyncio.sleep(0.05)
