"""Runs a child process in its own session and streams its stdout lines.

Shared by the process and local backends: stdout lines are yielded as they come, stderr is
kept as a bounded tail, and cancelling the iteration kills the whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from pathlib import Path

from app.runners.base import AgentExit

LINE_LIMIT = 64 * 1024 * 1024  # the result line carries the whole diff
STDERR_TAIL_LINES = 200


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the server dies (even by SIGKILL)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _drain(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    while line := await stream.readline():
        tail.append(line.decode("utf-8", errors="replace").rstrip("\n"))


async def stream_child(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str],
    grace_seconds: float = 2.0,
    pass_fds: Sequence[int] = (),
    preexec: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> AsyncGenerator[str | AgentExit, None]:
    """Yield each stdout line of the child, then an AgentExit with its exit code.

    `preexec` runs in the child after the parent-death signal is set, before exec
    (e.g. to join a cgroup); it must only make plain system calls. `on_stop` runs first
    when the iteration is stopped early, before the child is signalled.
    """

    def child_setup() -> None:
        die_with_parent()
        if preexec is not None:
            preexec()

    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=child_setup,
        limit=LINE_LIMIT,
        pass_fds=tuple(pass_fds),
    )
    assert proc.stdout is not None and proc.stderr is not None
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    stderr_task = asyncio.create_task(_drain(proc.stderr, tail))
    finished = False
    try:
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line over LINE_LIMIT: keep going, note it
                yield '{"v":1,"seq":-1,"type":"log","text":"[line too long, dropped]"}'
                continue
            if not raw:
                break
            yield raw.decode("utf-8", errors="replace")
        code = await proc.wait()
        await stderr_task
        finished = True
        yield AgentExit(exit_code=code, debug_log="\n".join(tail) or None)
    finally:
        if not finished:
            if on_stop is not None:
                on_stop()
            await _stop(proc, grace_seconds)
            stderr_task.cancel()
        # Anything the agent left running in its group goes too.
        kill_group(proc.pid)


async def _stop(proc: asyncio.subprocess.Process, grace_seconds: float) -> None:
    kill_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(proc.wait()), grace_seconds)
    kill_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(proc.wait()), 5)
