"""Starts runs as asyncio tasks, bounds concurrency, cancels, shuts down, recovers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Literal

import structlog

from app.config import Settings
from app.db import Database
from app.egress.gate import EgressGate
from app.errors import AppError, BackendUnavailable, Conflict
from app.events import payloads as events_out
from app.events.log import EventLog
from app.models import Run, Variation, utcnow
from app.runners.base import (
    Availability,
    Capabilities,
    Runner,
    TreeLocation,
    VariationJob,
)
from app.runs import early_stop, finalize, turns
from app.runs import repository as repo
from app.runs.jobs import prepare_job
from app.runs.ports import Gatekeeper, Workspaces
from app.runs.setup_phase import SetupPhase, SetupPlan, SetupResult
from app.runs.variation import mark_running, run_variation
from app.status import RunStatus, VariationStatus

log = structlog.get_logger()
StopReason = Literal["cancelled", "interrupted"]


class Supervisor:
    """Owns every running run's task; the only caller of runner backends."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        events: EventLog,
        runner: Runner,
        workspaces: Workspaces,
        gateway: Gatekeeper | None = None,
        setup: SetupPhase | None = None,
        egress: EgressGate | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._events = events
        self._runner = runner
        self._workspaces = workspaces
        self._gateway = gateway
        self._setup = setup
        self._egress = egress
        self._slots = asyncio.Semaphore(settings.max_concurrent_variations)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop_reason: dict[str, StopReason] = {}
        self._stopped_early: dict[str, str] = {}  # run id -> why its others were stopped
        self._shutdown_task: asyncio.Task[None] | None = None
        self._cleanups: set[asyncio.Task[None]] = set()
        self._release_timers: dict[str, asyncio.Task[None]] = {}

    @property
    def accepting(self) -> bool:
        """False once shutdown began."""
        return self._shutdown_task is None

    @property
    def backend(self) -> str:
        """The runner backend's name."""
        return self._runner.name

    @property
    def capabilities(self) -> Capabilities:
        """What the backend can do (see app/runners/base.py)."""
        return self._runner.capabilities

    async def availability(self) -> Availability:
        """Whether the backend can run variations here (for readiness and new runs)."""
        return await self._runner.availability()

    @property
    def active_runs(self) -> set[str]:
        """Ids of runs with a live task."""
        return set(self._tasks)

    def start(self, run_id: str) -> None:
        """Start a queued run in the background (refused once shutdown began)."""
        if self._shutdown_task is not None:
            raise BackendUnavailable("the server is shutting down; retry shortly")
        task = asyncio.create_task(self._run(run_id), name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(run_id, None))

    async def cancel(self, run_id: str, reason: StopReason = "cancelled") -> bool:
        """Stop a run's agents; returns False when it has no live task."""
        task = self._tasks.get(run_id)
        if task is None:
            return False
        self._stop_reason.setdefault(run_id, reason)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
        return True

    def begin_shutdown(self) -> None:
        """Start interrupting every live run (idempotent); `shutdown()` waits for it."""
        if self._shutdown_task is None:
            self._shutdown_task = asyncio.create_task(self._interrupt_all())

    async def shutdown(self) -> None:
        """Interrupt every live run and wait until their final events are committed."""
        self.begin_shutdown()
        assert self._shutdown_task is not None
        await asyncio.shield(self._shutdown_task)
        await self._interrupt_all()  # anything started meanwhile
        for task in list(self._cleanups):
            task.cancel()  # retained trees: the next start's sweep removes them

    async def start_turn(self, run: Run, variation: Variation, prompt: str) -> int:
        """Continue a finished variation with `prompt` in the background; returns the turn.

        Raises Conflict (with the reason) when it cannot continue now.
        """
        if self._shutdown_task is not None:
            raise BackendUnavailable("the server is shutting down; retry shortly")
        vid = variation.variation_id
        workspace = self._workspaces.workspace_path(run.id, vid)
        remote = self._runner.capabilities.tree is TreeLocation.REMOTE
        reason = turns.refusal(run, variation, workspace, remote)
        if reason is None and run.id in self._tasks:
            reason = "the run's last turn is still finishing; retry in a moment"
        if reason is not None:
            raise Conflict(reason, details={"status": run.status, "variation_id": vid})
        turn = len(turns.turns_of(variation)) + 1
        await turns.reopen(self._events, run, variation, turn)
        self._stop_release_timer(run.id)
        task = asyncio.create_task(
            self._turn(run, variation, prompt, turn, workspace), name=f"turn-{run.id}-{vid}"
        )
        self._tasks[run.id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(run.id, None))
        return turn

    async def _turn(
        self, run: Run, variation: Variation, prompt: str, turn: int, workspace: Path
    ) -> None:
        vid = variation.variation_id
        with structlog.contextvars.bound_contextvars(run_id=run.id, variation_id=vid, turn=turn):
            try:
                if self._gateway is not None:
                    spent = sum(v.cost_usd for v in await repo.get_variations(self._db, run.id))
                    self._gateway.open_run(run.id, budget_usd=run.budget_usd, spent_usd=spent)
                ready = turns.turn_setup(run, variation)
                async with self._slots, contextlib.AsyncExitStack() as stack:
                    egress = None
                    if run.setup.get("network") == "egress" and self._egress is not None:
                        egress = await stack.enter_async_context(self._egress.proxy(run.id, vid))
                    job = await prepare_job(
                        run,
                        variation,
                        ready,
                        egress=egress,
                        capabilities=self._runner.capabilities,
                        workspaces=self._workspaces,
                        gateway=self._gateway,
                        events=self._events,
                        server_url=self._settings.server_url,
                        workspace=workspace,
                    )
                    job = dataclasses.replace(
                        job,
                        prompt=prompt,
                        spec=turns.turn_spec(variation),
                        turn=turn,
                        seq_base=await repo.last_line_seq(self._db, run.id, vid),
                    )
                    await self._run_turn(run, job)
                await finalize.finish_run(self._events, self._db, run, None)
            except asyncio.CancelledError:
                reason = self._stop_reason.get(run.id, "cancelled")
                await finalize.stop_pending(
                    self._events, run.id, [variation], VariationStatus(reason)
                )
                await finalize.finish_run(self._events, self._db, run, RunStatus(reason))
            except Exception as exc:
                log.exception("turn.crashed")
                await finalize.stop_pending(
                    self._events,
                    run.id,
                    [variation],
                    VariationStatus.FAILED,
                    f"internal error: {exc}",
                )
                await finalize.finish_run(self._events, self._db, run, None)
            finally:
                self._stop_reason.pop(run.id, None)
                if self._gateway is not None:
                    self._gateway.close_run(run.id)
                await self._release_workspaces(run.id)

    async def _run_turn(self, run: Run, job: VariationJob) -> None:
        try:
            await run_variation(
                events=self._events,
                runner=self._runner,
                job=job,
                check_command=run.check_command,
                check_timeout=self._settings.check_timeout_seconds,
                apply_diff=None,  # turns run only where the tree is on the host
                gateway_record=(
                    None
                    if self._gateway is None
                    else functools.partial(self._gateway.record_of, run.id, job.variation_id)
                ),
            )
        finally:
            if self._gateway is not None:
                self._gateway.revoke(run.id, job.variation_id)

    async def _interrupt_all(self) -> None:
        await asyncio.gather(*(self.cancel(rid, "interrupted") for rid in list(self._tasks)))

    async def _run(self, run_id: str) -> None:
        run = await repo.get_run(self._db, run_id)
        if run is None:
            return
        variations = await repo.get_variations(self._db, run_id)
        with structlog.contextvars.bound_contextvars(run_id=run_id):
            try:
                await self._execute(run, variations)
            except asyncio.CancelledError:
                # Wherever the cancel landed, the run and its variations end properly.
                reason = self._stop_reason.get(run_id, "cancelled")
                stopped = VariationStatus(reason)
                await finalize.stop_pending(self._events, run_id, variations, stopped)
                await finalize.finish_run(self._events, self._db, run, RunStatus(reason))
            except Exception:
                log.exception("run.crashed")
                await finalize.finish_run(
                    self._events,
                    self._db,
                    run,
                    RunStatus.FAILED,
                    error="internal error; see server log",
                )
            finally:
                self._stop_reason.pop(run_id, None)
                self._stopped_early.pop(run_id, None)
                if self._gateway is not None:
                    self._gateway.close_run(run_id)
                await self._release_workspaces(run_id)

    async def _release_workspaces(self, run_id: str) -> None:
        """Remove the run's working trees now, or after the configured retention."""
        keep = self._settings.workspace_retention_seconds
        if keep <= 0:
            with contextlib.suppress(Exception):
                await self._workspaces.remove_run(run_id)
            return

        async def later() -> None:
            await asyncio.sleep(keep)
            with contextlib.suppress(Exception):
                await self._workspaces.remove_run(run_id)

        # Kept for inspection and follow-ups; a restart's startup sweep removes what is left.
        self._stop_release_timer(run_id)
        task = asyncio.create_task(later(), name=f"release-{run_id}")
        self._cleanups.add(task)
        self._release_timers[run_id] = task
        task.add_done_callback(self._cleanups.discard)
        task.add_done_callback(
            lambda t: (
                self._release_timers.pop(run_id, None)
                if self._release_timers.get(run_id) is t
                else None
            )
        )

    def _stop_release_timer(self, run_id: str) -> None:
        """A follow-up turn keeps the workspaces; its end starts the retention again."""
        timer = self._release_timers.pop(run_id, None)
        if timer is not None:
            timer.cancel()

    async def _execute(self, run: Run, variations: list[Variation]) -> None:
        started = await self._events.write(
            [events_out.run_status(run.id, RunStatus.RUNNING)],
            guard=repo.set_run(run.id, "running", started_at=utcnow()),
        )
        if not started:
            return
        children: list[asyncio.Task[bool]] = []
        try:
            base_sha = await self._workspaces.prepare(
                run_id=run.id, repo_url=run.repo_url, ref=run.ref
            )
            await self._events.write(
                [events_out.run_status(run.id, RunStatus.RUNNING, base_sha=base_sha)],
                [repo.set_run(run.id, base_sha=base_sha)],
            )
            if self._gateway is not None:
                self._gateway.open_run(run.id, budget_usd=run.budget_usd)
            async with self._set_up(run, base_sha) as ready:
                tasks = {
                    v.variation_id: asyncio.create_task(self._variation(run, v, ready))
                    for v in variations
                }
                children = list(tasks.values())
                passed = await early_stop.wait_for_passes(tasks, early_stop.needed(run))
                if passed is not None:
                    await self._stop_early(run, tasks, passed)
        except asyncio.CancelledError:
            for child in children:
                child.cancel()
            if children:
                await asyncio.wait(children)
            raise
        except AppError as exc:  # e.g. the repository could not be cloned, setup failed
            failed = VariationStatus.FAILED
            await finalize.stop_pending(self._events, run.id, variations, failed, exc.message)
            await finalize.finish_run(self._events, self._db, run, RunStatus.FAILED, exc.message)
            return
        await finalize.finish_run(self._events, self._db, run, None)

    async def _stop_early(
        self, run: Run, tasks: dict[int, asyncio.Task[bool]], passed: list[int]
    ) -> None:
        """Enough variations passed: cancel the rest, each keeping the reason."""
        why = early_stop.reason(passed)
        self._stopped_early[run.id] = why
        running = {vid: t for vid, t in tasks.items() if not t.done()}
        log.info("run.stopped_early", passed=passed, stopped=sorted(running))
        await self._events.write(
            statements=[
                repo.set_run(
                    run.id, early_stop=run.early_stop | {"stopped": sorted(running), "reason": why}
                )
            ]
        )
        for task in running.values():
            task.cancel()
        await asyncio.wait(running.values())

    def _set_up(self, run: Run, base_sha: str) -> AbstractAsyncContextManager[SetupResult]:
        if self._setup is None:
            return contextlib.nullcontext(SetupResult(SetupPlan(None, None, None), base=base_sha))
        return self._setup.prepared(run, base_sha)

    async def _variation(self, run: Run, variation: Variation, ready: SetupResult) -> bool:
        """Run one variation to its end; True when its check passed."""
        vid = variation.variation_id
        with structlog.contextvars.bound_contextvars(variation_id=vid):
            try:
                async with self._slots, contextlib.AsyncExitStack() as stack:
                    egress = None
                    if run.setup.get("network") == "egress" and self._egress is not None:
                        egress = await stack.enter_async_context(self._egress.proxy(run.id, vid))
                    return await self._run_one(run, variation, ready, egress)
            except asyncio.CancelledError:
                reason = self._stop_reason.get(run.id)
                why = None if reason is not None else self._stopped_early.get(run.id)
                stopped = VariationStatus(reason or "cancelled")
                await finalize.stop_pending(self._events, run.id, [variation], stopped, why)
                raise
            except Exception as exc:
                log.exception("variation.crashed")
                await finalize.stop_pending(
                    self._events,
                    run.id,
                    [variation],
                    VariationStatus.FAILED,
                    f"internal error: {exc}",
                )
                return False

    async def _run_one(
        self, run: Run, variation: Variation, ready: SetupResult, egress: Path | None
    ) -> bool:
        vid = variation.variation_id
        can = self._runner.capabilities
        job = await prepare_job(
            run,
            variation,
            ready,
            egress=egress,
            capabilities=can,
            workspaces=self._workspaces,
            gateway=self._gateway,
            events=self._events,
            server_url=self._settings.server_url,
        )
        if not await mark_running(self._events, job):
            return False
        started = time.monotonic()
        try:
            outcome = await run_variation(
                events=self._events,
                runner=self._runner,
                job=job,
                check_command=run.check_command,
                check_timeout=self._settings.check_timeout_seconds,
                apply_diff=(
                    self._workspaces.apply_patch if can.tree is TreeLocation.REMOTE else None
                ),
                gateway_record=(
                    None
                    if self._gateway is None
                    else functools.partial(self._gateway.record_of, run.id, vid)
                ),
            )
        except asyncio.CancelledError:
            why = self._stopped_early.get(run.id)
            if (
                why is not None
                and can.tree is TreeLocation.HOST
                and run.id not in self._stop_reason
            ):
                duration = time.monotonic() - started
                await early_stop.record_stopped(self._events, job, why, duration)
            raise
        finally:
            if self._gateway is not None:
                self._gateway.revoke(run.id, vid)
        return outcome.check is not None and outcome.check.exit_code == 0
