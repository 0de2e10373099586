"""Run a child process and hand each stdout/stderr line to a callback as it arrives."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

LineCallback = Callable[[str], object]
# Entered around the lines of one read (e.g. the emitter's deferred flush).
Batch = Callable[[], AbstractContextManager[object]]
READ_CHUNK = 65536
# A single line longer than this is passed on in pieces rather than buffered forever.
MAX_LINE_BYTES = 16 * 1024 * 1024
TERMINATE_GRACE = 5.0
PIPE_DRAIN_GRACE = 2.0
EXIT_POLL = 0.2


async def _pump(
    stream: asyncio.StreamReader, on_line: LineCallback, batch: Batch = contextlib.nullcontext
) -> None:
    """Split a byte stream into lines (no length limit surprises) and call `on_line`.

    The complete lines of each read are handed on inside one `batch()`.
    """
    buffer = b""
    while chunk := await stream.read(READ_CHUNK):
        *lines, rest = (buffer + chunk).split(b"\n")
        with batch():
            for line in lines:
                on_line(line.rstrip(b"\r").decode("utf-8", "replace"))
            if len(rest) > MAX_LINE_BYTES:
                on_line(rest.decode("utf-8", "replace"))
                rest = b""
        buffer = rest
    if buffer:
        on_line(buffer.rstrip(b"\r").decode("utf-8", "replace"))


async def _wait_exit(process: asyncio.subprocess.Process, pumps: list[asyncio.Task[None]]) -> int:
    """Wait for the child to exit and its output to be read.

    A background grandchild may hold the pipes open after the child exits (and on 3.11
    `Process.wait()` waits for the pipes too), so watch `returncode` and give the pipes a
    short grace period once it is set.
    """
    pending = set(pumps)
    while pending and process.returncode is None:
        _done, pending = await asyncio.wait(pending, timeout=EXIT_POLL)
    if pending:
        _done, pending = await asyncio.wait(pending, timeout=PIPE_DRAIN_GRACE)
    for task in pending:
        task.cancel()
    for task in pumps:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if pending and process.returncode is not None:
        return process.returncode
    return await process.wait()


def exit_status(returncode: int) -> int:
    """Map asyncio's negative 'killed by signal N' to the shell's 128+N."""
    return 128 - returncode if returncode < 0 else returncode


class ChildProcess:
    """One streamed child process; `terminate()` may be called from a signal handler."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._terminating = False

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        on_stdout: LineCallback,
        on_stderr: LineCallback,
        stdin: bytes | None = None,
        batch: Batch = contextlib.nullcontext,
    ) -> int:
        """Start `argv`, stream its lines, and return its exit status (128+N if signalled).

        `batch` is entered around the lines of each read. Raises OSError when the program
        cannot be started.
        """
        self._process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        process = self._process
        assert process.stdout is not None and process.stderr is not None
        if self._terminating:
            self.terminate()
        pumps: list[asyncio.Task[None]] = []
        try:
            pumps += [
                asyncio.create_task(_pump(process.stdout, on_stdout, batch)),
                asyncio.create_task(_pump(process.stderr, on_stderr, batch)),
            ]
            if stdin is not None and process.stdin is not None:
                # The child may exit without reading its stdin.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    process.stdin.write(stdin)
                    await process.stdin.drain()
                    process.stdin.close()
            return exit_status(await _wait_exit(process, pumps))
        except asyncio.CancelledError:
            for task in pumps:
                task.cancel()
            await self._stop(process)
            raise

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM now, SIGKILL after a grace period)."""
        self._terminating = True
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        loop.call_later(TERMINATE_GRACE, self._kill)

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
