"""Run a child process and hand each stdout/stderr line to a callback as it arrives."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import threading
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


def _pump(
    read: Callable[[], bytes],
    on_line: LineCallback,
    batch: Batch = contextlib.nullcontext,
    lock: AbstractContextManager[object] | None = None,
) -> None:
    """Split a byte stream into lines (no length limit surprises) and call `on_line`.

    `read` returns the next bytes, b"" at the end. The complete lines of each read are
    handed on inside one `batch()`, holding `lock` (the two pipes' readers take turns).
    """
    held = lock if lock is not None else contextlib.nullcontext()
    buffer = b""
    while chunk := read():
        *lines, rest = (buffer + chunk).split(b"\n")
        with held, batch():
            for line in lines:
                on_line(line.rstrip(b"\r").decode("utf-8", "replace"))
            if len(rest) > MAX_LINE_BYTES:
                on_line(rest.decode("utf-8", "replace"))
                rest = b""
        buffer = rest
    if buffer:
        with held:
            on_line(buffer.rstrip(b"\r").decode("utf-8", "replace"))


def _reader(fd: int, stop_fd: int) -> Callable[[], bytes]:
    """Blocking reads of `fd`: b"" at its end, or once `stop_fd` is readable."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(stop_fd, select.POLLIN)

    def read() -> bytes:
        while True:
            ready = {ready_fd for ready_fd, _events in poller.poll()}
            if fd in ready:
                return os.read(fd, READ_CHUNK)  # b"" once every writer has closed it
            if stop_fd in ready:
                return b""

    return read


async def _wait_exit(
    process: asyncio.subprocess.Process, pumps: Sequence[asyncio.Future[None]], stop: int
) -> int:
    """Wait for the child to exit and its output to be read.

    A background grandchild may hold the pipes open after the child exits, so watch
    `returncode` and give the pipes a short grace period once it is set; then the readers
    are told to stop (`stop` is their wake-up pipe) and are waited for.
    """
    pending: set[asyncio.Future[None]] = set(pumps)
    while pending and process.returncode is None:
        _done, pending = await asyncio.wait(pending, timeout=EXIT_POLL)
    if pending:
        _done, pending = await asyncio.wait(pending, timeout=PIPE_DRAIN_GRACE)
    if pending:
        os.write(stop, b"x")
        await asyncio.wait(pending)
    for pump in pumps:
        pump.result()  # a callback's exception surfaces here
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
        # The output pipes are read on threads of their own: a blocking read costs a few
        # system calls per batch of lines, the event loop's machinery several times more
        # CPU per wake-up, and a command printing one line at a time wakes it per line.
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        stop_r, stop_w = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=dict(env),
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
            )
        except BaseException:
            for fd in (out_r, err_r, stop_r, stop_w):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        process = self._process
        if self._terminating:
            self.terminate()
        turns = threading.Lock()
        pumps = [
            asyncio.ensure_future(
                asyncio.to_thread(_pump, _reader(fd, stop_r), on_line, batch, turns)
            )
            for fd, on_line in ((out_r, on_stdout), (err_r, on_stderr))
        ]
        try:
            if stdin is not None and process.stdin is not None:
                # The child may exit without reading its stdin.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    process.stdin.write(stdin)
                    await process.stdin.drain()
                    process.stdin.close()
            return exit_status(await _wait_exit(process, pumps, stop_w))
        except asyncio.CancelledError:
            await self._stop(process)
            raise
        finally:
            # The readers must be gone before their descriptors are closed.
            os.write(stop_w, b"x")
            await asyncio.shield(asyncio.wait(pumps))
            for fd in (out_r, err_r, stop_r, stop_w):
                os.close(fd)

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
