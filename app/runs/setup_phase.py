"""A run's setup phase: once per run, before any agent, on the base tree (or from the cache).

The setup command runs in the backend's sandbox on a fresh checkout of base_sha, its output
streamed as `setup_output` events, its network only through the egress proxy. Then a
second, offline sandbox records the tree as setup left it (`git add -A` + `git write-tree`)
so each variation's diff can leave setup's files out. The tree is cached by (repository,
base commit, command, runtime); every variation's workspace starts from it (an overlay
mount over it as root, else a copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from app.egress.gate import EgressGate
from app.errors import AppError
from app.events import payloads as events_out
from app.events.log import EventLog
from app.models import Run
from app.runners.base import AgentExit, Runner, SetupJob, SetupLocation
from app.runs import repository as repo
from app.runs.devcontainer import DEVCONTAINER_PATH, parse_devcontainer
from app.runs.ports import Workspaces
from app.runs.setup_cache import SetupCache, setup_key

log = structlog.get_logger()

TAIL_LINES = 20
SNAPSHOT_TIMEOUT = 300.0
# Runs offline in its own sandbox; the workspace's config must not run anything.
# The staged files' blobs go into one pack: every variation copies the tree, and one pack
# file copies far faster than a loose object per file.
SNAPSHOT_COMMAND = (
    "git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c safe.directory='*' "
    "-c core.autocrlf=false add -A >/dev/null && "
    "git -c safe.directory='*' repack -d -q && "
    "git -c safe.directory='*' write-tree"
)
_TREE_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class SetupFailed(AppError):
    """The setup command failed or timed out; no agent starts."""

    code = "setup_failed"


@dataclass(frozen=True)
class SetupPlan:
    """Which setup command a run has, and where it came from."""

    command: str | None
    source: str | None  # "spec", "devcontainer" or None
    image: str | None


@dataclass(frozen=True)
class SetupResult:
    """What the variations start from."""

    plan: SetupPlan
    base: str  # base_sha: every diff applies to it
    tree: Path | None = None  # each workspace starts from it (None: a plain checkout)
    tree_sha: str | None = None  # the set-up tree's git tree id (the diff baseline)
    cached: bool = False


async def plan_setup(run: Run, base_sha: str, workspaces: Workspaces) -> SetupPlan:
    """The spec's setup command, else the repository's devcontainer defaults."""
    command, image = run.setup.get("command"), run.setup.get("image")
    if command:
        return SetupPlan(command, "spec", image)
    text = await workspaces.read_file(run_id=run.id, base_sha=base_sha, path=DEVCONTAINER_PATH)
    found = parse_devcontainer(text) if text else None
    if found is None or not (found.command or (found.image and not image)):
        return SetupPlan(None, None, image)
    return SetupPlan(found.command, "devcontainer" if found.command else None, image or found.image)


class SetupPhase:
    """Runs (or reuses) one run's setup; shared by the run's variations."""

    def __init__(
        self,
        *,
        events: EventLog,
        runner: Runner,
        workspaces: Workspaces,
        cache: SetupCache,
        egress: EgressGate,
    ) -> None:
        self._events = events
        self._runner = runner
        self._workspaces = workspaces
        self._cache = cache
        self._egress = egress

    async def _say(
        self, run_id: str, text: str, *, cached: bool | None = None, seconds: float | None = None
    ) -> None:
        await self._events.append(
            events_out.setup_output(run_id, text, cached=cached, seconds=seconds)
        )

    async def _record(self, run: Run, **values: Any) -> None:
        run.setup = {**run.setup, **values}
        await self._events.write(statements=[repo.set_run(run.id, setup=run.setup)])

    @contextlib.asynccontextmanager
    async def prepared(self, run: Run, base_sha: str) -> AsyncIterator[SetupResult]:
        """Set up (or find the cached tree); the tree stays valid while the context lasts."""
        plan = await plan_setup(run, base_sha, self._workspaces)
        planned = {"command": plan.command, "source": plan.source, "image": plan.image}
        if plan.command is None or self._runner.capabilities.setup is SetupLocation.BACKEND:
            # Nothing runs here: the plan's record is queued, not waited for (the event log
            # commits in queue order, so it still lands before anything the variations write).
            recording = asyncio.create_task(self._record(run, **planned))
            await asyncio.sleep(0)  # the task's first step puts the write in the queue
            try:
                yield SetupResult(plan, base_sha)
            finally:
                await recording
            return
        await self._record(run, **planned)
        key = setup_key(
            repo_url=run.repo_url,
            base_sha=base_sha,
            command=plan.command,
            runtime=f"{self._runner.name}:{self._runner.identity}",
        )
        async with self._cache.using(key) as hit:
            if hit is not None:
                await self._say(run.id, "setup: cached", cached=True)
                await self._record(run, status="cached", cached=True, tree=hit.tree_sha)
                yield SetupResult(plan, base_sha, hit.path, hit.tree_sha, cached=True)
                return
            yield await self._run(run, base_sha, plan, key)

    async def _run(self, run: Run, base_sha: str, plan: SetupPlan, key: str) -> SetupResult:
        assert plan.command is not None
        source = "" if plan.source == "spec" else f" (from {plan.source})"
        await self._say(run.id, f"setup: {plan.command}{source}")
        await self._record(run, status="running", cached=False)
        started = time.monotonic()
        tree = await self._workspaces.add_setup_tree(run_id=run.id, base_sha=base_sha)
        timeout = float(run.setup.get("timeout_seconds") or 900.0)
        async with self._egress.proxy(run.id, None) as socket:
            job = SetupJob(run.id, tree, plan.command, timeout, egress_socket=socket)
            code, tail, timed_out = await self._stream(job)
        seconds = round(time.monotonic() - started, 3)
        if timed_out or code != 0:
            why = f"timed out after {timeout:g} s" if timed_out else f"exited {code}"
            message = f"setup command {why}"
            await self._say(run.id, f"setup: failed ({why})")
            await self._record(run, status="failed", error=message, seconds=seconds)
            last = "\n".join(tail)
            raise SetupFailed(f"{message}; last lines:\n{last}" if last else message)
        tree_sha = await self._snapshot(run.id, tree)
        stored = await self._cache.store(key, tree, tree_sha)
        await self._say(run.id, f"setup: done in {seconds:g} s", seconds=seconds)
        await self._record(run, status="done", tree=tree_sha, seconds=seconds)
        return SetupResult(plan, base_sha, stored.path if stored else tree, tree_sha)

    async def _stream(self, job: SetupJob) -> tuple[int | None, list[str], bool]:
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        code: int | None = None
        stream = self._runner.setup(job)
        try:
            async with asyncio.timeout(job.timeout_seconds), contextlib.aclosing(stream):
                async for item in stream:
                    if isinstance(item, AgentExit):
                        code = item.exit_code
                        if item.error:
                            tail.append(f"[{item.error}]")
                        continue
                    text = item.rstrip("\n")
                    tail.append(text)
                    await self._say(job.run_id, text)
        except TimeoutError:
            return None, list(tail), True
        return code, list(tail), False

    async def _snapshot(self, run_id: str, tree: Path) -> str:
        lines: list[str] = []
        code: int | None = None
        job = SetupJob(run_id, tree, SNAPSHOT_COMMAND, SNAPSHOT_TIMEOUT)
        stream = self._runner.setup(job)
        async with asyncio.timeout(SNAPSHOT_TIMEOUT), contextlib.aclosing(stream):
            async for item in stream:
                if isinstance(item, AgentExit):
                    code = item.exit_code
                else:
                    lines.append(item.strip())
        tree_sha = lines[-1] if lines else ""
        if code != 0 or not _TREE_ID.match(tree_sha):
            log.warning("setup.snapshot_failed", exit_code=code, output=lines[-5:])
            raise SetupFailed("could not record the set-up tree (git add/write-tree failed)")
        return tree_sha
