"""Runs the CLI as a terminal's foreground command and watches it with deadlines.

When it does not do what a test waits for, the failure says which step it was, what the CLI
printed, its signal state (/proc) and its Python stack (py-spy), instead of a bare timeout.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NoReturn

import pytest

from tests.cli.cli_runner import clean_env


@contextlib.contextmanager
def sigint_as_in_a_terminal() -> Iterator[None]:
    """Children started inside get SIGINT neither ignored nor blocked, as from an interactive
    shell, however pytest itself was started.

    A shell without job control starts a background job (`cmd &` in a script) with SIGINT
    ignored, and a program keeps an inherited "ignored" as it is, Python included: a test
    suite launched that way would hand every child a Ctrl-C it cannot see. A caught signal
    goes back to its default across exec, so catching it here for the moment of the start
    gives the child the default.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def sigint_as_in_a_script_background_job() -> Iterator[None]:
    """Children started inside get SIGINT ignored, as `cmd &` in a script starts them."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def signal_state(pid: int) -> str:
    """The process's Sig* lines from /proc, and what they say about SIGINT."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        return f"/proc/{pid}/status: {exc}"
    lines = [line for line in status.splitlines() if line.startswith(("Sig", "ShdPnd"))]
    bit = 1 << (signal.SIGINT - 1)
    fields = dict(line.split(":\t", 1) for line in lines)
    sigint = [
        word
        for key, word in (("SigBlk", "blocked"), ("SigIgn", "ignored"), ("SigCgt", "caught"))
        if int(fields.get(key, "0"), 16) & bit
    ]
    return "\n".join([*lines, f"SIGINT: {', '.join(sigint) or 'default (kills)'}"])


def python_stack(pid: int) -> str:
    """`py-spy dump` of the process, or why there is none."""
    found = Path(sys.executable).parent / "py-spy"
    py_spy = str(found) if found.exists() else shutil.which("py-spy")
    if py_spy is None:
        return "(no py-spy next to this interpreter or on PATH: no stack)"
    try:
        done = subprocess.run(
            [py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(py-spy dump failed: {exc})"
    return (done.stdout + done.stderr).strip() or f"(py-spy dump: exit {done.returncode})"


def _collect(stream: IO[str], into: list[str], lines: queue.Queue[str] | None) -> None:
    for line in stream:
        into.append(line)
        if lines is not None:
            lines.put(line)


class WatchedCli:
    """`python -m app.cli ARGS` started as a terminal's foreground command (or, with
    `background`, as a script's background job), its output read by threads."""

    def __init__(
        self,
        *args: str,
        cwd: Path,
        background: bool = False,
        notes: Callable[[], str] = lambda: "",
        **extra_env: str,
    ) -> None:
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._notes = notes
        start_as = sigint_as_in_a_script_background_job if background else sigint_as_in_a_terminal
        with start_as():
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", *args],
                cwd=cwd,
                env=clean_env(**extra_env),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=_collect, args=(self.proc.stdout, self.stdout, self._lines)),
            threading.Thread(target=_collect, args=(self.proc.stderr, self.stderr, None)),
        ]
        for reader in self._readers:
            reader.start()

    def wait_for(self, done: Callable[[list[str]], bool], step: str, timeout: float) -> None:
        """Read stdout lines until `done(lines so far)`; fail with a diagnosis at the deadline
        or if the CLI ends first. Never blocks past the deadline, even on a silent CLI."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while not done(seen):
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"{step}: not within {timeout:.0f} s")
            try:
                seen.append(self._lines.get(timeout=min(left, 0.5)))
            except queue.Empty:
                if self.proc.poll() is not None and self._lines.empty():
                    self.fail(f"{step}: the CLI exited ({self.proc.returncode}) first")

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """SIGINT: what Ctrl-C in a terminal sends to the foreground command."""
        self.proc.send_signal(signum)

    def wait_exit(self, step: str, timeout: float) -> int:
        """The exit code, once stdout and stderr are read to their end."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        code = self.proc.poll()
        if code is None:
            self.fail(f"{step}: still running after {timeout:.0f} s")
        for reader in self._readers:
            reader.join(10)
        return code

    def fail(self, what: str) -> NoReturn:
        """Stop the CLI and fail the test with everything known about why."""
        alive = self.proc.poll() is None
        state = signal_state(self.proc.pid) if alive else "(exited: no /proc entry)"
        stack = python_stack(self.proc.pid) if alive else "(exited: no stack)"
        self.proc.kill()
        self.proc.wait(10)
        for reader in self._readers:
            reader.join(10)
        sections = {
            "failed step": what,
            "test process SIGINT handler": repr(signal.getsignal(signal.SIGINT)),
            "CLI signal state": state,
            "CLI stack (py-spy dump)": stack,
            "CLI stdout so far": "".join(self.stdout) or "(nothing)",
            "CLI stderr so far": "".join(self.stderr) or "(nothing)",
            "notes": self._notes() or "(none)",
        }
        pytest.fail("\n".join(f"--- {k}:\n{v}" for k, v in sections.items()), pytrace=False)
