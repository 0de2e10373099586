"""The bubblewrap command line for one sandbox (a pure function of its description).

Every flag is explained in docs/sandbox.md. The options reach bwrap through a memfd
(`bwrap --args FD -- command`), so the environment never shows in the host's `ps`; the
prompt travels in a file (`--ro-bind-data`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.runners.local.user import SANDBOX_HOME, SANDBOX_UID

WORKSPACE = "/workspace"
RUN_DIR = "/run/aideator"
GATEWAY_SOCKET = f"{RUN_DIR}/gateway.sock"
EGRESS_SOCKET = f"{RUN_DIR}/egress.sock"
ENTRY_SCRIPT = f"{RUN_DIR}/sandbox_entry.py"
FORWARDER_SCRIPT = f"{RUN_DIR}/sandbox_forwarder.py"
SPEC_FILE = f"{RUN_DIR}/spec.json"
HOSTNAME = "sandbox"


@dataclass(frozen=True)
class SandboxSpec:
    """Everything one sandbox is made of (host paths and fds are the caller's)."""

    command: Sequence[str]  # run by the launcher, inside
    env: Mapping[str, str]
    workspace: Path  # bound read-write at /workspace, the working directory
    host_mounts: Sequence[str]  # read-only host paths, as bwrap arguments
    python: str  # interpreter that runs the launcher
    entry_script: Path  # host path of sandbox_entry.py
    forwarder_script: Path  # host path of sandbox_forwarder.py
    data_files: Mapping[str, int] = field(default_factory=dict)  # inside path -> fd to copy
    launcher_args: Sequence[str] = ()  # e.g. --rlimit ...
    gateway_socket: Path | None = None
    egress_socket: Path | None = None  # the egress proxy (HTTP_PROXY inside), if any
    userns_fd: int | None = None  # a prepared user namespace (server runs as root)
    lifeline_fd: int | None = None  # read end of a pipe the host holds open while it lives
    tmp_size_bytes: int = 1024 * 1024 * 1024


def _isolation(spec: SandboxSpec) -> list[str]:
    user = (
        ["--unshare-user", "--disable-userns"]
        if spec.userns_fd is None
        else ["--userns", str(spec.userns_fd)]
    )
    return [
        *user,
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--unshare-cgroup-try",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--hostname",
        HOSTNAME,
        "--die-with-parent",
        "--as-pid-1",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]


def _environment(env: Mapping[str, str]) -> list[str]:
    args = ["--clearenv"]
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    return args


def _scratch(size: int) -> list[str]:
    size_arg = ["--size", str(size)]
    return [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        *size_arg,
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        *size_arg,
        "--tmpfs",
        "/tmp",
        "--perms",
        "0700",
        *size_arg,
        "--tmpfs",
        SANDBOX_HOME,
    ]


def _run_dir(spec: SandboxSpec) -> list[str]:
    args = [
        "--dir",
        RUN_DIR,
        "--ro-bind",
        str(spec.entry_script),
        ENTRY_SCRIPT,
        "--ro-bind",
        str(spec.forwarder_script),
        FORWARDER_SCRIPT,
    ]
    if spec.gateway_socket is not None:
        args += ["--ro-bind", str(spec.gateway_socket), GATEWAY_SOCKET]
    if spec.egress_socket is not None:
        args += ["--ro-bind", str(spec.egress_socket), EGRESS_SOCKET]
    for inside, fd in sorted(spec.data_files.items()):
        args += ["--perms", "0444", "--ro-bind-data", str(fd), inside]
    return args


def launcher_command(spec: SandboxSpec) -> list[str]:
    """What bubblewrap runs as PID 1: the launcher, which runs the command."""
    gateway = [] if spec.gateway_socket is None else ["--gateway", GATEWAY_SOCKET]
    if spec.egress_socket is not None:
        gateway += ["--egress", EGRESS_SOCKET]
    lifeline = [] if spec.lifeline_fd is None else ["--lifeline", str(spec.lifeline_fd)]
    return [
        spec.python,
        "-I",
        "-S",
        ENTRY_SCRIPT,
        *spec.launcher_args,
        *gateway,
        *lifeline,
        "--",
        *spec.command,
    ]


def bwrap_options(spec: SandboxSpec) -> list[str]:
    """bwrap's options (they go through `--args FD`; the command follows `--` in argv)."""
    return [
        *_isolation(spec),
        *_environment(spec.env),
        *_scratch(spec.tmp_size_bytes),
        # After the scratch tmpfs mounts: a checkout (and its venv) under /tmp stays visible.
        *spec.host_mounts,
        *_run_dir(spec),
        "--bind",
        str(spec.workspace),
        WORKSPACE,
        "--chdir",
        WORKSPACE,
        # The root tmpfs holds only mount points; read-only, it cannot be filled.
        "--remount-ro",
        "/",
    ]
