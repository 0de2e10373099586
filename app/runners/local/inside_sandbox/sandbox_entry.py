"""Inside a sandbox: its PID 1. Starts the command, reaps, and ends the sandbox with it.

bubblewrap runs this as PID 1 of the sandbox's PID namespace (`--as-pid-1`). It applies
the rlimits (inside the sandbox's user namespace, so RLIMIT_NPROC counts this sandbox's
processes only), serves the gateway forwarder in a thread when there is a gateway, forks
the command and reaps every orphan. When the command exits, this exits with its status and
the kernel kills whatever the command left behind. When the host side goes away (the
lifeline pipe reaches EOF: server killed, run cancelled), it exits too. Standard library
only: it runs with the sandbox's Python and never imports the host package. It starts
before every sandboxed command, so it imports only what it uses (no argparse, no socket
unless a forwarder is asked for): the interpreter's start-up is most of its cost.

With rlimits, a thread counts the sandbox's tasks and tells the host on the `--report`
pipe when RLIMIT_NPROC is reached (a failed fork is invisible from outside).

Usage: `python -I -S sandbox_entry.py [--rlimit NAME=SOFT:HARD]... [--gateway SOCKET]
[--egress SOCKET] [--lifeline FD] [--report FD --watch-nproc N] -- COMMAND...`

With `--egress`, a second forwarder leads to the host's egress proxy, announced to the
command as HTTP_PROXY/HTTPS_PROXY (the only way out: the sandbox has no network).
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys

TYPE_CHECKING = False  # `typing` alone costs more start-up than the rest of this file
if TYPE_CHECKING:
    import socket
    from typing import NoReturn, Protocol

    class _Forwarder(Protocol):
        def listen(self, port: int = 0) -> socket.socket: ...

        def serve(self, listener: socket.socket, socket_path: str) -> None: ...


BASE_URL_VARIABLE = "ANTHROPIC_BASE_URL"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
HOST_GONE_EXIT = 137
# A fork bomb can hit the cap and collapse within 0.1 s; sampling faster names the
# limit more reliably (one /proc listing costs well under a millisecond).
WATCH_INTERVAL = 0.02
PR_SET_DUMPABLE = 4


def parse_rlimit(text: str) -> tuple[int, int, int]:
    """`NPROC=64:64` -> (resource.RLIMIT_NPROC, 64, 64)."""
    name, _, values = text.partition("=")
    soft, _, hard = values.partition(":")
    kind = getattr(resource, f"RLIMIT_{name.upper()}", None)
    if not isinstance(kind, int) or not soft:
        raise ValueError(f"bad --rlimit {text!r}")
    return kind, int(soft), int(hard or soft)


def _load_forwarder() -> _Forwarder:
    # Loaded by path: the launcher runs isolated (-I), its directory is not on sys.path.
    import importlib.util

    location = os.path.join(os.path.dirname(os.path.realpath(__file__)), "sandbox_forwarder.py")
    spec = importlib.util.spec_from_file_location("sandbox_forwarder", location)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {location}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module  # a module with both functions is a _Forwarder


def _watch_lifeline(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 64):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    os._exit(HOST_GONE_EXIT)


def _exec(command: list[str], env: dict[str, str]) -> NoReturn:
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        print(f"sandbox: cannot start {command[0]}: {exc}", file=sys.stderr, flush=True)
    os._exit(127)


def _reap_until(child: int) -> NoReturn:
    """Reap every process; exit with the command's status when the command ends."""
    while True:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)


def _task_count() -> int:
    # One getdents of /proc is a consistent snapshot of the processes; their threads are
    # added from status files. Counting task dirs instead misses most of a churning bomb.
    names = [name for name in os.listdir("/proc") if name.isdigit()]
    total = len(names)
    for name in names:
        with contextlib.suppress(OSError, ValueError), open(f"/proc/{name}/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    total += int(line.split()[1]) - 1
                    break
    return total


def _watch_processes(limit: int, report_fd: int) -> None:
    """Tell the host (once) when the sandbox runs as many tasks as RLIMIT_NPROC allows."""
    import time

    while _task_count() < limit:
        time.sleep(WATCH_INTERVAL)
    with contextlib.suppress(OSError):
        os.write(report_fd, b"pids_max\n")


def _not_dumpable() -> None:
    # The command runs as the same uid: without this it could reach PID 1's report pipe
    # through /proc/1/fd and speak for the host side.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


OPTIONS = ("--rlimit", "--gateway", "--egress", "--lifeline", "--report", "--watch-nproc")
USAGE = (
    "usage: sandbox_entry [--rlimit NAME=SOFT:HARD]... [--gateway SOCKET] [--egress SOCKET] "
    "[--lifeline FD] [--report FD --watch-nproc N] -- COMMAND..."
)


class _Args:
    """The parsed command line (argparse costs more start-up than all the rest)."""

    def __init__(self) -> None:
        self.rlimit: list[tuple[int, int, int]] = []
        self.gateway: str | None = None
        self.egress: str | None = None
        self.lifeline: int | None = None
        self.report: int | None = None
        self.watch_nproc: int | None = None
        self.command: list[str] = []


def _usage_error(message: str) -> NoReturn:
    print(f"{USAGE}\nsandbox_entry: error: {message}", file=sys.stderr, flush=True)
    os._exit(2)


def parse_args(argv: list[str]) -> _Args:
    """Options up to `--` (or the first word that is not one), then the command."""
    args = _Args()
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            index += 1
            break
        if not word.startswith("--"):
            break
        name, has_value, value = word.partition("=")
        if name not in OPTIONS:
            _usage_error(f"unrecognized argument {word}")
        if not has_value:
            index += 1
            if index >= len(argv):
                _usage_error(f"{name} expects a value")
            value = argv[index]
        index += 1
        try:
            if name == "--rlimit":
                args.rlimit.append(parse_rlimit(value))
            elif name in ("--gateway", "--egress"):
                setattr(args, name[2:], value)
            else:
                setattr(args, name[2:].replace("-", "_"), int(value))
        except ValueError as exc:
            _usage_error(f"{name}: {exc}")
    args.command = argv[index:]
    if not args.command:
        _usage_error("no command")
    return args


def main(argv: list[str] | None = None) -> NoReturn:
    """Apply limits, start the forwarder if asked, run the command as PID 1's child."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command
    _not_dumpable()
    for kind, soft, hard in args.rlimit:
        resource.setrlimit(kind, (soft, hard))
    keep = {fd for fd in (args.lifeline, args.report) if fd is not None}
    env = dict(os.environ)
    forwarder: _Forwarder | None = None
    served: list[tuple[socket.socket, str]] = []
    for target, variables in ((args.gateway, (BASE_URL_VARIABLE,)), (args.egress, PROXY_VARIABLES)):
        if not target:
            continue
        forwarder = forwarder or _load_forwarder()
        listener = forwarder.listen()
        keep.add(listener.fileno())
        served.append((listener, target))
        for name in variables:
            env[name] = f"http://127.0.0.1:{listener.getsockname()[1]}"
    # Nothing bubblewrap was handed (fds of the host side) reaches the command.
    for fd in {int(name) for name in os.listdir("/proc/self/fd")} - keep - {0, 1, 2}:
        with contextlib.suppress(OSError):
            os.close(fd)
    child = os.fork()
    if child == 0:
        for fd in keep:
            os.close(fd)
        _exec(command, env)
    import threading

    threads = []
    for listener, target in served:
        assert forwarder is not None
        threads.append(threading.Thread(target=forwarder.serve, args=(listener, target)))
    if args.lifeline is not None:
        threads.append(threading.Thread(target=_watch_lifeline, args=(args.lifeline,)))
    if args.report is not None and args.watch_nproc:
        threads.append(
            threading.Thread(target=_watch_processes, args=(args.watch_nproc, args.report))
        )
    for thread in threads:
        thread.daemon = True
        thread.start()
    _reap_until(child)


if __name__ == "__main__":
    main()
