"""Runs one command in one fresh bubblewrap sandbox and streams its stdout lines.

Shared by the agent run and the check: builds the user namespace (as root), hands the
workspace over, creates the cgroup, starts bwrap with its options in a memfd, and names
the limit that ended the command when one did. The sandbox's PID 1 holds the read end of a
"lifeline" pipe whose write end only this process holds: when the iteration ends or is
cancelled, or this server dies, the pipe reaches EOF, PID 1 exits and the kernel kills
everything left in the sandbox's PID namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from app.runners.base import AgentExit
from app.runners.child import ChildSetup, stream_child
from app.runners.local.argv import SandboxSpec, bwrap_options, launcher_command
from app.runners.local.inside_sandbox import sandbox_entry, sandbox_forwarder
from app.runners.local.limits import (
    LimitPlan,
    LimitValues,
    SandboxCgroup,
    cpu_seconds_for,
    limit_reason,
    rlimit_args,
)
from app.runners.local.user import (
    SandboxIdentity,
    SpareNamespaces,
    group_text,
    hand_over,
    hosts_text,
    open_userns,
    passwd_text,
)

log = structlog.get_logger()

ENTRY_SCRIPT = Path(sandbox_entry.__file__).resolve()
FORWARDER_SCRIPT = Path(sandbox_forwarder.__file__).resolve()


@dataclass(frozen=True)
class SandboxHost:
    """What every sandbox on this server shares: bwrap, Python, mounts, identity, limits."""

    bwrap: str
    python: str
    host_mounts: Sequence[str]
    identity: SandboxIdentity
    plan: LimitPlan
    values: LimitValues
    tmp_size_bytes: int
    namespaces: SpareNamespaces | None = None  # user namespaces made ahead (root only)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _result_exit_code(line: str) -> int | None:
    # Only the result line matters; it is the last one and carries the command's status.
    if '"type":"result"' not in line.replace(" ", ""):
        return None
    try:
        data = json.loads(line).get("data") or {}
        code = data.get("exit_code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


@dataclass
class _Prepared:
    fds: list[int] = field(default_factory=list)
    args_fd: int = -1
    lifeline_write: int = -1
    report_read: int = -1
    command: list[str] = field(default_factory=list)
    cgroup: SandboxCgroup | None = None

    def cut_lifeline(self) -> None:
        """End the sandbox: its PID 1 exits on EOF and the kernel kills everything inside."""
        fd, self.lifeline_write = self.lifeline_write, -1
        if fd >= 0:
            os.close(fd)


async def _prepare(
    host: SandboxHost,
    prepared: _Prepared,
    *,
    command: Sequence[str],
    env: Mapping[str, str],
    workspace: Path,
    wall_seconds: float,
    files: Mapping[str, bytes],
    gateway_socket: Path | None,
    egress_socket: Path | None,
    label: str,
) -> None:
    await asyncio.to_thread(hand_over, workspace, host.identity)
    userns_fd = None
    if host.identity.own_userns:
        spares = host.namespaces
        userns_fd = await (spares.take() if spares is not None else open_userns(host.identity))
    if userns_fd is not None:
        prepared.fds.append(userns_fd)
    data_files = {
        "/etc/passwd": passwd_text().encode(),
        "/etc/group": group_text().encode(),
        "/etc/hosts": hosts_text().encode(),
        **files,
    }
    data_fds: dict[str, int] = {}
    for path, data in data_files.items():
        data_fds[path] = _memfd("sandbox-file", data)
        prepared.fds.append(data_fds[path])
    lifeline_read, prepared.lifeline_write = os.pipe()
    prepared.report_read, report_write = os.pipe()
    prepared.fds += [lifeline_read, report_write]
    launcher_args = rlimit_args(host.values, wall_seconds=wall_seconds, mode=host.plan.mode)
    if host.plan.mode == "rlimits":
        watch = ["--watch-nproc", str(host.values.pids_max)]
        launcher_args += ["--report", str(report_write), *watch]
    spec = SandboxSpec(
        command=command,
        env=env,
        workspace=workspace,
        host_mounts=host.host_mounts,
        python=host.python,
        entry_script=ENTRY_SCRIPT,
        forwarder_script=FORWARDER_SCRIPT,
        data_files=data_fds,
        launcher_args=launcher_args,
        gateway_socket=gateway_socket,
        egress_socket=egress_socket,
        userns_fd=userns_fd,
        lifeline_fd=lifeline_read,
        tmp_size_bytes=host.tmp_size_bytes,
    )
    options = b"".join(arg.encode() + b"\0" for arg in bwrap_options(spec))
    prepared.args_fd = _memfd("bwrap-args", options)
    prepared.fds.append(prepared.args_fd)
    prepared.command = launcher_command(spec)
    if host.plan.mode == "cgroups" and host.plan.cgroup_parent is not None:
        name = f"{label}-{uuid.uuid4().hex[:12]}"
        prepared.cgroup = await asyncio.to_thread(
            SandboxCgroup.create, host.plan.cgroup_parent, name, host.values
        )


async def run_sandboxed(
    host: SandboxHost,
    *,
    command: Sequence[str],
    env: Mapping[str, str],
    workspace: Path,
    wall_seconds: float,
    files: Mapping[str, bytes] | None = None,
    gateway_socket: Path | None = None,
    egress_socket: Path | None = None,
    label: str = "sandbox",
    protocol: bool = True,
) -> AsyncGenerator[str | AgentExit, None]:
    """Yield the command's stdout lines, then an AgentExit (with the limit hit, if any).

    `protocol`: the command prints agent protocol lines (its result line's exit code then
    counts when naming a limit).
    """
    prepared = _Prepared()
    try:
        try:
            await _prepare(
                host,
                prepared,
                command=command,
                env=env,
                workspace=workspace,
                wall_seconds=wall_seconds,
                files=files or {},
                gateway_socket=gateway_socket,
                egress_socket=egress_socket,
                label=label,
            )
        except OSError as exc:
            log.warning("sandbox.setup_failed", error=str(exc))
            yield AgentExit(exit_code=None, error=f"sandbox setup failed: {exc}")
            return
        cgroup = prepared.cgroup
        result_code: int | None = None
        saw_output = False
        async for item in stream_child(
            [host.bwrap, "--args", str(prepared.args_fd), "--", *prepared.command],
            cwd=None,
            env={},
            pass_fds=prepared.fds,
            setup=ChildSetup(
                clear_groups=host.identity.own_userns,  # the server's groups stay outside
                cgroup_procs=cgroup.procs if cgroup is not None else None,
            ),
            on_stop=prepared.cut_lifeline,
        ):
            if isinstance(item, AgentExit):
                counters = await asyncio.to_thread(cgroup.counters) if cgroup else {}
                counters |= _reported(prepared.report_read)
                failed_start = None if saw_output else _start_failure(item.debug_log)
                if failed_start:
                    yield replace(item, error=f"sandbox failed to start: {failed_start}")
                else:
                    yield _with_limit(item, host, counters, result_code, wall_seconds)
            else:
                saw_output = True
                code = _result_exit_code(item) if protocol else None
                result_code = code if code is not None else result_code
                yield item
    finally:
        prepared.cut_lifeline()
        for fd in [prepared.report_read, *prepared.fds]:
            with contextlib.suppress(OSError):
                os.close(fd)
        if prepared.cgroup is not None:
            await asyncio.to_thread(prepared.cgroup.remove)


def _start_failure(debug_log: str | None) -> str | None:
    """bubblewrap's own complaint, when it gave up before starting anything."""
    for line in (debug_log or "").splitlines():
        if line.startswith("bwrap: "):
            return line.removeprefix("bwrap: ")
    return None


def _reported(fd: int) -> dict[str, int]:
    """Limit events PID 1 wrote on the report pipe (never blocks: our write end is open)."""
    os.set_blocking(fd, False)
    try:
        text = os.read(fd, 4096).decode(errors="replace")
    except (BlockingIOError, OSError):
        return {}
    return {name: 1 for name in text.split() if name in ("pids_max",)}


def _with_limit(
    item: AgentExit,
    host: SandboxHost,
    counters: dict[str, int],
    result_code: int | None,
    wall_seconds: float,
) -> AgentExit:
    if item.exit_code == 0 and result_code in (0, None):
        return item  # it succeeded: a limit it brushed against did not end it
    reason = limit_reason(
        host.values,
        mode=host.plan.mode,
        counters=counters,
        exit_codes=(item.exit_code, result_code),
        cpu_seconds=cpu_seconds_for(host.values, wall_seconds),
    )
    if reason is None:
        return item
    log.info("sandbox.limit_hit", reason=reason)
    return replace(item, error=reason)
