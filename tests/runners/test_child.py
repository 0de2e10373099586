"""A child started by the server: set up after exec (setpriv) or in a forked child, and in
both cases killed when the server dies, even by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.runners import child
from app.runners.child import ChildSetup, launch

# A stand-in server: streams one child that records its pid, then waits to be killed.
_SERVER = """
import asyncio, sys
from app.runners import child
if sys.argv[2] == "forked":
    child._SETPRIV = None
async def main():
    argv = ["/bin/sh", "-c", 'echo $$ > "$0"; exec sleep 600', sys.argv[1]]
    async for item in child.stream_child(argv, cwd=None, env={"PATH": "/usr/bin:/bin"}):
        pass
asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["setpriv", "forked"])
def test_the_child_dies_with_a_killed_server(tmp_path: Path, how: str) -> None:
    pidfile = tmp_path / "child.pid"
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(pidfile), how], cwd=Path(__file__).parents[2]
    )
    try:
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline, "the child never started"
            assert server.poll() is None, "the stand-in server exited early"
            time.sleep(0.05)
        pid = int(pidfile.read_text())
        assert _alive(pid)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the child outlived the server"
    finally:
        if server.poll() is None:
            server.kill()


def test_setpriv_sets_the_child_up_after_exec() -> None:
    if child._SETPRIV is None:
        pytest.skip("setpriv (util-linux) is not installed")
    command, pre_exec = launch(
        ["bwrap", "x"], ChildSetup(clear_groups=True, cgroup_procs=Path("/cg/cgroup.procs"))
    )
    assert pre_exec is None  # no Python in the child: the server spawns it with vfork
    assert command[-2:] == ["bwrap", "x"]
    setpriv = command.index(child._SETPRIV)
    assert command[setpriv:-2] == [child._SETPRIV, "--pdeathsig", "KILL", "--clear-groups", "--"]
    assert command[:setpriv] == [child._SH, "-c", child._JOIN_THEN_EXEC, "/cg/cgroup.procs"]


def test_without_setpriv_the_forked_child_sets_itself_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(child, "_SETPRIV", None)
    command, pre_exec = launch(["bwrap", "x"], ChildSetup(clear_groups=True))
    assert command == ["bwrap", "x"] and pre_exec is not None
