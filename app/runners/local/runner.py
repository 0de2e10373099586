"""The `local` backend: each variation's agent in its own bubblewrap sandbox (the default).

The sandbox sees a read-only system, its workspace read-write at /workspace, private
/tmp and HOME, no network but its own loopback, and the LLM gateway through a Unix socket
bound in. Limits: cgroup v2 when delegated, rlimits otherwise. See docs/sandbox.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import structlog

from app.package_files import agent_source_dir
from app.runners.agent_launch import agent_env, agent_spec
from app.runners.base import (
    AgentExit,
    Availability,
    Capabilities,
    CheckOutcome,
    GatewayRoute,
    LineDelivery,
    SetupJob,
    SetupLocation,
    TreeLocation,
    VariationJob,
)
from app.runners.check_output import check_argv, collect_check
from app.runners.local.argv import SPEC_FILE
from app.runners.local.limits import MIB, LimitValues, plan_limits
from app.runners.local.mounts import SYSTEM_PATHS, host_mounts
from app.runners.local.runtime import (
    CLAUDE_BIN,
    agent_command,
    claude_binary,
    hidden_paths,
    hiding_args,
    interpreter_mounts,
    runtime_mounts,
    system_python,
    user_env,
)
from app.runners.local.session import SandboxHost, run_sandboxed
from app.runners.local.user import SANDBOX_HOME, SpareNamespaces, choose_identity
from app.runners.settings import LocalSettings

log = structlog.get_logger()

INSTALL_HINT = "install bubblewrap: apt-get install bubblewrap"


def _label(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", "-".join(str(p) for p in parts))[:80]


class LocalRunner:
    """Runs each variation's agent program, and each check, in a fresh bubblewrap sandbox."""

    name = "local"
    capabilities = Capabilities(
        lines=LineDelivery.STDOUT,
        tree=TreeLocation.HOST,
        gateway=GatewayRoute.UNIX_SOCKET,
        images=False,
        setup=SetupLocation.HOST,
    )

    def __init__(self, settings: LocalSettings) -> None:
        self._settings = settings
        self._host: SandboxHost | None = None
        self._host_lock = asyncio.Lock()
        self._probed: Availability | None = None
        # What the manifest records as the variation's sandbox; refined by the probe.
        self.identity = "bubblewrap"

    async def _sandbox_host(self) -> SandboxHost:
        async with self._host_lock:
            if self._host is None:
                self._host = await asyncio.to_thread(self._discover)
                if self._host.namespaces is not None:
                    self._host.namespaces.refill(now=True)
                log.info(
                    "sandbox.ready",
                    limits=self._host.plan.detail,
                    host_uid=self._host.identity.host_uid,
                )
            return self._host

    def _discover(self) -> SandboxHost:
        settings = self._settings
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise FileNotFoundError("bwrap")
        python = system_python()
        mounts = [
            *host_mounts(interpreter_mounts(python)),
            *hiding_args(hidden_paths(SYSTEM_PATHS)),
            *runtime_mounts(agent_source_dir(), claude_binary()),
        ]
        identity = choose_identity(settings.uid)
        return SandboxHost(
            bwrap=bwrap,
            python=python,
            host_mounts=mounts,
            identity=identity,
            plan=plan_limits(wanted=settings.limits, parent=settings.cgroup_parent),
            values=LimitValues(
                memory_mb=settings.memory_mb, pids_max=settings.pids_max, cpus=settings.cpus
            ),
            tmp_size_bytes=settings.tmp_mb * MIB,
            namespaces=SpareNamespaces(identity) if identity.own_userns else None,
        )

    async def availability(self) -> Availability:
        """Whether bubblewrap can start a sandbox here, and how limits are enforced."""
        if shutil.which("bwrap") is None:
            return Availability(
                ok=False, detail="bubblewrap (bwrap) is not installed", hint=INSTALL_HINT
            )
        if self._probed is None or not self._probed.ok:
            self._probed = await self._probe()
        return self._probed

    async def _probe(self) -> Availability:
        host = await self._sandbox_host()
        values, plan = host.values, host.plan
        version = await asyncio.to_thread(_bwrap_version, host.bwrap)
        self.identity = f"{version}, limits by {plan.mode}"
        if plan.mode == "cgroups":
            limits = (
                f"cgroups (memory.max {values.memory_mb} MB, pids.max {values.pids_max}, "
                f"cpu.max {values.cpus:g} CPU)"
            )
        else:
            limits = (
                f"rlimits (RLIMIT_DATA {values.memory_mb} MB and RLIMIT_CPU "
                f"{values.cpus:g} x timeout s per process, RLIMIT_NPROC {values.pids_max})"
            )
        if self._settings.limits == "cgroups" and plan.mode != "cgroups":
            return Availability(
                ok=False,
                detail=f"cgroup limits required but unavailable: {plan.detail}",
                hint="delegate memory, pids and cpu (cgroup v2) or set AIDEATOR_SANDBOX_LIMITS",
                limits=limits,
            )
        workspace = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="aideator-probe-"))
        try:
            outcome = await self.check_in(workspace, "true", timeout=30)
        finally:
            await asyncio.to_thread(shutil.rmtree, workspace, True)
        if outcome.exit_code != 0:
            return Availability(
                ok=False,
                detail=f"bubblewrap could not start a sandbox: {outcome.output_tail[-500:]}",
                hint="user namespaces must be allowed (sysctl user.max_user_namespaces > 0)",
                limits=limits,
            )
        who = host.identity
        return Availability(
            ok=True,
            detail=f"bubblewrap sandbox per variation (host uid {who.host_uid})",
            limits=limits,
        )

    async def run(self, job: VariationJob) -> AsyncIterator[str | AgentExit]:
        """Run the agent program in a sandbox; yield its lines, then how it exited."""
        try:
            host = await self._sandbox_host()
        except FileNotFoundError:
            yield AgentExit(exit_code=None, error=f"bubblewrap is missing; {INSTALL_HINT}")
            return
        tools = user_env(job.workspace)
        env = agent_env(job, home=Path(SANDBOX_HOME), path=tools["PATH"], base_url=None)
        env |= tools
        env["AIDEATOR_CLAUDE_BIN"] = CLAUDE_BIN
        env.pop("PYTHONPATH", None)  # the runtime is found by path, never by the user's tools
        env.pop("AIDEATOR_SPEC", None)  # the spec travels as a file: no size limit, not in env
        gateway = job.gateway_socket if job.gateway_token else None
        if gateway is not None and job.gateway_token:  # the gateway's placeholder, not a key
            env["ANTHROPIC_API_KEY"] = job.gateway_token
        stream = run_sandboxed(
            host,
            command=[*agent_command(host.python), "--spec-file", SPEC_FILE],
            env=env,
            workspace=job.workspace,
            wall_seconds=job.timeout_seconds,
            files={SPEC_FILE: agent_spec(job).encode()},
            gateway_socket=gateway,
            egress_socket=job.egress_socket if job.network == "egress" else None,
            label=_label(job.run_id, job.variation_id),
        )
        async with contextlib.aclosing(stream):
            async for item in stream:
                yield item

    async def setup(self, job: SetupJob) -> AsyncGenerator[str | AgentExit, None]:
        """Run the setup command in a sandbox on the set-up tree; network only by the proxy."""
        try:
            host = await self._sandbox_host()
        except FileNotFoundError:
            yield AgentExit(exit_code=None, error=f"bubblewrap is missing; {INSTALL_HINT}")
            return
        env = {**user_env(job.workspace), "HOME": SANDBOX_HOME, "LANG": "C.UTF-8"}
        stream = run_sandboxed(
            host,
            command=check_argv(job.command),
            env=env,
            workspace=job.workspace,
            wall_seconds=job.timeout_seconds,
            egress_socket=job.egress_socket,
            label=f"setup-{_label(job.run_id)}",
            protocol=False,
        )
        async with contextlib.aclosing(stream):
            async for item in stream:
                yield item

    async def check(self, job: VariationJob, command: str, timeout: float) -> CheckOutcome:
        """Run the check command in a fresh sandbox on the variation's tree (no gateway)."""
        return await self.check_in(job.workspace, command, timeout, label=_label(job.run_id))

    async def check_in(
        self, workspace: Path, command: str, timeout: float, *, label: str = "check"
    ) -> CheckOutcome:
        """Run `/bin/sh -c command` (stderr merged) in a fresh sandbox on `workspace`."""
        try:
            host = await self._sandbox_host()
        except FileNotFoundError:
            return CheckOutcome(None, 0.0, f"bubblewrap is missing; {INSTALL_HINT}")
        env = {**user_env(workspace), "HOME": SANDBOX_HOME, "LANG": "C.UTF-8"}
        stream = run_sandboxed(
            host,
            command=check_argv(command),
            env=env,
            workspace=workspace,
            wall_seconds=timeout,
            label=f"check-{label}",
            protocol=False,
        )
        return await collect_check(stream, timeout)


def _bwrap_version(bwrap: str) -> str:
    import subprocess

    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "bubblewrap"
    return out.stdout.strip() or "bubblewrap"
