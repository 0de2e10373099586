"""The `process` backend: the agent as a plain subprocess. No sandbox: development only."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from pathlib import Path

from app.events.protocol import parse_line
from app.runners.agent_launch import agent_argv, agent_env
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
from app.runners.child import stream_child
from app.runners.settings import ProcessSettings


class ProcessRunner:
    """Runs each variation's agent program directly on the host."""

    name = "process"
    identity = "process"  # what manifests record: no sandbox at all

    def __init__(self, settings: ProcessSettings) -> None:
        self._settings = settings
        # With the relay, lines reach the server over HTTP like a container agent's would.
        self.capabilities = Capabilities(
            lines=LineDelivery.RELAY if settings.relay else LineDelivery.STDOUT,
            tree=TreeLocation.HOST,
            gateway=GatewayRoute.TCP,
            images=False,
            setup=SetupLocation.HOST,
        )
        self._path = (
            os.defpath
            if not sys.executable
            else (
                f"{Path(sys.executable).parent}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin"
            )
        )

    async def availability(self) -> Availability:
        """Available only when unsandboxed runs were explicitly allowed."""
        if not self._settings.allow_unsandboxed:
            return Availability(
                ok=False,
                detail="the process backend runs agents without a sandbox",
                hint="set AIDEATOR_ALLOW_UNSANDBOXED=true (development only)",
                limits="none",
            )
        return Availability(ok=True, detail="unsandboxed subprocesses", limits="timeout only")

    async def run(self, job: VariationJob) -> AsyncIterator[str | AgentExit]:
        """Run the agent program in the workspace; yield its lines, then how it exited."""
        home = Path(tempfile.mkdtemp(prefix="aideator-home-"))
        try:
            env = agent_env(job, home=home, path=self._path, base_url=job.gateway_url)
            last_result: dict[str, object] | None = None
            async for item in stream_child(agent_argv(), cwd=job.workspace, env=env):
                if self.capabilities.lines is LineDelivery.STDOUT:
                    yield item
                elif isinstance(item, AgentExit):
                    yield replace(item, final_result=last_result)
                else:
                    line = parse_line(item)
                    if line is not None and line.type == "result":
                        last_result = dict(line.data)
        finally:
            await asyncio.to_thread(shutil.rmtree, home, True)

    async def check(self, job: VariationJob, command: str, timeout: float) -> CheckOutcome:
        """Run the check command in the variation's tree."""
        env = {"PATH": self._path, "HOME": str(job.workspace), "LANG": "C.UTF-8"}
        stream = stream_child(check_argv(command), cwd=job.workspace, env=env)
        return await collect_check(stream, timeout)

    async def setup(self, job: SetupJob) -> AsyncGenerator[str | AgentExit, None]:
        """Run the setup command in the set-up tree (unsandboxed: the host's own network)."""
        home = Path(tempfile.mkdtemp(prefix="aideator-home-"))
        try:
            env = {"PATH": self._path, "HOME": str(home), "LANG": "C.UTF-8"}
            async for item in stream_child(check_argv(job.command), cwd=job.workspace, env=env):
                yield item
        finally:
            await asyncio.to_thread(shutil.rmtree, home, True)
