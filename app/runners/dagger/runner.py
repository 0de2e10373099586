"""The `dagger` backend: each variation is one `dagger call ... stream-agent ... result` process.

Live lines reach the host through the relay (the module binds the server as a service), so
this runner yields no lines: only the final AgentExit, whose `final_result` is what the
module returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from pathlib import Path

import structlog

from app.package_files import dagger_module_dir
from app.runners.base import (
    AgentExit,
    Availability,
    Capabilities,
    Checker,
    CheckOutcome,
    GatewayRoute,
    LineDelivery,
    SetupJob,
    SetupLocation,
    TreeLocation,
    VariationJob,
)
from app.runners.child import kill_group
from app.runners.dagger.availability import (
    RUNNER_HOST_ENV,
    probe_cli_and_engine,
)
from app.runners.dagger.command import (
    DaggerInvocation,
    InvocationError,
    build_invocation,
    parse_result,
)
from app.runners.dagger.engine_pool import EnginePool, NoEngineAvailable
from app.runners.dagger.output import BoundedTail, read_bounded

log = structlog.get_logger()

MAX_ENGINE_ATTEMPTS = 2  # a variation whose engine did not connect is retried once
# What the CLI says when it never reached its engine (nothing ran, so a retry is safe).
_CONNECT_FAILURE = re.compile(
    r"failed to connect|connection refused|no such host|dial tcp|i/o timeout|"
    r"connect: network is unreachable|could not connect|failed to (start|reach) (the )?engine|"
    r"unable to upgrade connection|pods? \"[^\"]*\" not found",  # kube-pod:// (kubectl exec)
    re.IGNORECASE,
)


def connect_failure(ended: AgentExit) -> str | None:
    """The CLI's own words when a call ended because it never reached its engine."""
    if ended.final_result is not None or ended.timed_out or not ended.debug_log:
        return None
    for line in reversed(ended.debug_log.strip().splitlines()):
        if _CONNECT_FAILURE.search(line):
            return line.strip()[:300]
    return None


class DaggerRunner:
    """Runs each variation through the Dagger CLI and the repository's Dagger module."""

    name = "dagger"
    identity = "dagger"
    capabilities = Capabilities(
        # `dagger call` prints only at the end: live lines come by the relay.
        lines=LineDelivery.RELAY,
        # The agent's tree stays in Dagger; the host applies its diff to check it.
        tree=TreeLocation.REMOTE,
        gateway=GatewayRoute.TCP,
        images=True,
        # The module runs `job.setup_command` as an exec before the agent (a cached layer).
        setup=SetupLocation.BACKEND,
    )

    def __init__(
        self,
        *,
        checker: Checker | None = None,
        dagger_bin: str = "dagger",
        module: str | Path | None = None,
        grace_seconds: float = 3.0,
        availability_ttl: float = 30.0,
        probe_timeout: float = 20.0,
        pool: EnginePool | None = None,
    ) -> None:
        self._checker = checker  # checks run on the host's copy of the tree (a local sandbox)
        self._dagger_bin = dagger_bin
        self._module = str(module if module is not None else dagger_module_dir())
        self._grace = grace_seconds
        self._ttl = availability_ttl
        self._probe_timeout = probe_timeout
        self._cached: tuple[float, Availability] | None = None
        self._pool = pool

    async def availability(self) -> Availability:
        """CLI present, module found, engine startable or remote; cached for a short while."""
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] >= self._ttl:
            self._cached = (
                time.monotonic(),
                await probe_cli_and_engine(
                    self._dagger_bin,
                    self._module,
                    pool=self._pool is not None,
                    probe_timeout=self._probe_timeout,
                ),
            )
        result = self._cached[1]
        if self._pool is None or not result.ok:
            return result
        # The engines' states are live, never cached: they change with every failed call.
        states = self._pool.states()
        up = sum(1 for s in states if s["state"] == "up")
        return replace(
            result,
            ok=up > 0,
            detail=f"{result.detail}; {up} of {len(states)} engines up",
            hint=None if up else "every engine failed to connect; see engines[].last_error",
            engines=tuple(states),
        )

    async def run(self, job: VariationJob) -> AsyncIterator[str | AgentExit]:
        """Run `dagger call ... stream-agent` for the job; yield one AgentExit."""
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="aideator-prompt-"))
        try:
            prompt_file = folder / "prompt.txt"
            await asyncio.to_thread(prompt_file.write_text, job.prompt, encoding="utf-8")
            async for item in self._run_with(job, prompt_file):
                yield item
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _run_with(
        self, job: VariationJob, prompt_file: Path
    ) -> AsyncIterator[str | AgentExit]:
        try:
            invocation = build_invocation(
                job,
                dagger_bin=self._dagger_bin,
                module=self._module,
                base_env=os.environ,
                prompt_file=prompt_file,
            )
        except InvocationError as exc:
            yield AgentExit(exit_code=None, error=str(exc))
            return
        if self._pool is None:
            yield await self._call(invocation, job)
            return
        tried: list[str] = []
        while True:
            try:
                async with self._pool.lease(exclude=tried) as engine:
                    env = {**invocation.env, RUNNER_HOST_ENV: engine.host}
                    ended = await self._call(DaggerInvocation(invocation.argv, env), job)
            except NoEngineAvailable as exc:
                yield AgentExit(exit_code=None, error=str(exc))
                return
            reason = connect_failure(ended)
            if reason is None:
                yield ended
                return
            await self._pool.mark_down(engine.host, reason)
            tried.append(engine.host)
            retry = len(tried) < MAX_ENGINE_ATTEMPTS
            log.warning("dagger.engine.down", engine=engine.host, reason=reason, retry=retry)
            # A plain line: the event log records it as this variation's `log` output.
            yield (
                f"aideator: Dagger engine {engine.host} is marked down for "
                f"{self._pool.down_seconds:g} s: {reason}"
                + ("; retrying on another engine" if retry else "")
            )
            if not retry:
                yield ended
                return

    async def _call(self, invocation: DaggerInvocation, job: VariationJob) -> AgentExit:
        """One `dagger call` process, stopped on timeout or cancellation."""
        bound = log.bind(run_id=job.run_id, variation_id=job.variation_id, backend=self.name)
        secrets = [s for s in (job.gateway_token, job.relay_token, job.git_token) if s]
        bound.info("dagger.call.start", module=self._module)
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *invocation.argv,
                env=invocation.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:  # missing CLI, or a prompt beyond the OS argument limit
            bound.warning("dagger.call.not_started", error=str(exc))
            return AgentExit(exit_code=None, error=f"could not start the dagger CLI: {exc}")
        assert proc.stdout is not None and proc.stderr is not None
        tail = BoundedTail()
        settled = False
        try:
            try:
                async with asyncio.timeout(job.timeout_seconds):
                    stdout, _ = await asyncio.gather(
                        read_bounded(proc.stdout), tail.consume(proc.stderr)
                    )
                    code = await proc.wait()
            except TimeoutError:
                await self._stop(proc)
                settled = True
                bound.warning("dagger.call.timed_out", seconds=job.timeout_seconds)
                return AgentExit(
                    exit_code=None,
                    timed_out=True,
                    error=f"timed out after {job.timeout_seconds:g} s",
                    debug_log=tail.text(secrets),
                )
            settled = True
        finally:
            if not settled:
                await self._stop(proc)
            kill_group(proc.pid)  # anything the CLI left in its group goes too
        bound.info("dagger.call.exit", code=code, seconds=round(time.monotonic() - started, 3))
        return self._exit(code, stdout, tail.text(secrets))

    @staticmethod
    def _exit(code: int, stdout: str, debug_log: str) -> AgentExit:
        result = parse_result(stdout)
        if result is None:
            last = debug_log.strip().splitlines()[-1:] or ["no output"]
            return AgentExit(
                exit_code=None,
                error=f"dagger call exited {code} without a result: {last[0][:500]}",
                debug_log=debug_log,
            )
        agent_code = result.get("exit_code")
        return AgentExit(
            exit_code=agent_code if isinstance(agent_code, int) else None,
            error=None if code == 0 else f"dagger call exited {code}",
            final_result=result,
            debug_log=debug_log,
        )

    async def check(self, job: VariationJob, command: str, timeout: float) -> CheckOutcome:
        """Check the host's copy of the variation's tree with the checker given at build."""
        if self._checker is None:
            return CheckOutcome(
                None, 0.0, "this dagger runner has no check sandbox (build it with make_runner)"
            )
        return await self._checker(job, command, timeout)

    async def setup(self, job: SetupJob) -> AsyncGenerator[str | AgentExit, None]:
        """Never called: setup runs inside the module, before each agent."""
        yield AgentExit(exit_code=None, error="the dagger backend runs setup in its module")

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        """SIGTERM the CLI's process group, SIGKILL it after the grace period."""
        kill_group(proc.pid, signal.SIGTERM)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(proc.wait()), self._grace)
        finally:
            kill_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(proc.wait()), 5)
