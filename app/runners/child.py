"""Runs a child process in its own session and streams its stdout lines.

Shared by the process and local backends: stdout lines are yielded as they come, stderr is
kept as a bounded tail, and cancelling the iteration kills the whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.runners.base import AgentExit

LINE_LIMIT = 64 * 1024 * 1024  # the result line carries the whole diff
READ_CHUNK = 256 * 1024
# A read holds a few thousand lines: the loop serves others (the event log's database
# replies, the streams) between each LINES_PER_TURN of them, so a burst does not stall a
# commit for the whole read (PostgreSQL's durable-log rate rose by about a fifth).
LINES_PER_TURN = 200
TOO_LONG = '{"v":1,"seq":-1,"type":"log","text":"[line too long, dropped]"}'
STDERR_TAIL_LINES = 200


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the server dies (even by SIGKILL)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass(frozen=True)
class ChildSetup:
    """What the child does before it runs the program, besides dying with the server."""

    clear_groups: bool = False  # drop the server's supplementary groups
    cgroup_procs: Path | None = None  # join this cgroup (its cgroup.procs file) first


# With setpriv (util-linux) and a shell the child sets itself up after exec, so the server
# spawns it with vfork: a fork of the whole server (needed to run Python code in the child)
# blocks the event loop ~15 ms per child at a few hundred MB, for every stream at once.
_SETPRIV = shutil.which("setpriv")
_SH = shutil.which("sh")
_JOIN_THEN_EXEC = 'printf 0 > "$0" && exec "$@"'  # "0": the writing process joins


def launch(argv: Sequence[str], setup: ChildSetup) -> tuple[list[str], Callable[[], None] | None]:
    """The command line that sets the child up, or the plain one and a pre-exec function."""
    if _SETPRIV is None or (setup.cgroup_procs is not None and _SH is None):
        return list(argv), lambda: _set_up_in_child(setup)
    command = [_SETPRIV, "--pdeathsig", "KILL"]
    if setup.clear_groups:
        command.append("--clear-groups")
    command += ["--", *argv]
    if setup.cgroup_procs is not None and _SH is not None:
        command = [_SH, "-c", _JOIN_THEN_EXEC, str(setup.cgroup_procs), *command]
    return command, None


def _set_up_in_child(setup: ChildSetup) -> None:
    """The same, in the forked child before exec (hosts without setpriv)."""
    die_with_parent()
    if setup.clear_groups:
        os.setgroups([])
    if setup.cgroup_procs is not None:
        fd = os.open(setup.cgroup_procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _drain(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    while line := await stream.readline():
        tail.append(line.decode("utf-8", errors="replace").rstrip("\n"))


async def _stdout_lines(stream: asyncio.StreamReader) -> AsyncGenerator[str, None]:
    """The stream's lines (without the newline), split from large reads: an agent printing
    fast costs one read per batch of lines, not one wake-up per line; the loop gets a turn
    every LINES_PER_TURN lines. A line over LINE_LIMIT is dropped, with a note in its
    place."""
    parts: list[bytes] = []  # the unfinished line
    size = 0
    dropping = False
    while chunk := await stream.read(READ_CHUNK):
        if b"\n" not in chunk:
            if not dropping:
                parts.append(chunk)
                size += len(chunk)
                if size > LINE_LIMIT:
                    parts, size, dropping = [], 0, True
            continue
        head, *complete, rest = chunk.split(b"\n")
        if dropping:
            dropping = False
            yield TOO_LONG
        else:
            yield b"".join((*parts, head)).decode("utf-8", errors="replace")
        for i, line in enumerate(complete, 1):
            yield line.decode("utf-8", errors="replace")
            if not i % LINES_PER_TURN:
                await asyncio.sleep(0)
        parts, size = ([rest], len(rest)) if rest else ([], 0)
    if dropping:
        yield TOO_LONG
    elif parts:
        yield b"".join(parts).decode("utf-8", errors="replace")


async def stream_child(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str],
    grace_seconds: float = 2.0,
    pass_fds: Sequence[int] = (),
    setup: ChildSetup = ChildSetup(),
    on_stop: Callable[[], None] | None = None,
) -> AsyncGenerator[str | AgentExit, None]:
    """Yield each stdout line of the child, then an AgentExit with its exit code.

    The child gets SIGKILL when the server dies (even by SIGKILL) and is set up as `setup`
    says before the program starts. `on_stop` runs first when the iteration is stopped
    early, before the child is signalled.
    """
    command, child_setup = launch(argv, setup)
    proc = await asyncio.create_subprocess_exec(
        *command,
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
        async for line in _stdout_lines(proc.stdout):
            yield line
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
