"""Executes one run (or one follow-up turn): tree, setup, variations, early stop, finish.

The supervisor owns the tasks and their bookkeeping; this is what one task does.
"""

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
from sqlalchemy.sql import Executable

from app.config import Settings
from app.db import Database
from app.egress.gate import EgressGate
from app.errors import AppError
from app.events import payloads as events_out
from app.events.log import EventLog, EventRow
from app.judge.record import ranks_of
from app.judge.step import judge_again_safely, judge_safely
from app.models import Run, Variation, utcnow
from app.runners.base import Runner, TreeLocation, VariationJob
from app.runs import early_stop, finalize, synthesis, turns
from app.runs import repository as repo
from app.runs.check_suggestion import suggest_check_command
from app.runs.jobs import prepare_job
from app.runs.ports import Gatekeeper, Workspaces
from app.runs.setup_phase import SetupPhase, SetupPlan, SetupResult
from app.runs.variation import mark_running, run_variation
from app.status import RunStatus, VariationStatus

log = structlog.get_logger()
StopReason = Literal["cancelled", "interrupted"]


class RunExecution:
    """Runs a run's variations under the shared concurrency bound."""

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
        self.runner = runner
        self._settings = settings
        self._db = db
        self._events = events
        self._workspaces = workspaces
        self._gateway = gateway
        self._setup = setup
        self._egress = egress
        self._slots = asyncio.Semaphore(settings.max_concurrent_variations)
        self.stop_reason: dict[str, StopReason] = {}
        self.stopped_early: dict[str, str] = {}  # run id -> why its others were stopped

    async def execute(self, run: Run, variations: list[Variation]) -> None:
        """Prepare the tree, set up, run every variation, stop early if asked, finish."""
        started = await self._events.write(
            [events_out.run_status(run.id, RunStatus.RUNNING)],
            guard=repo.set_run(run.id, "running", started_at=utcnow()),
        )
        if not started:
            return
        children: list[asyncio.Task[bool]] = []
        suggesting: asyncio.Task[None] | None = None
        recording: asyncio.Task[bool] | None = None
        try:
            base_sha = await self._workspaces.prepare(
                run_id=run.id, repo_url=run.repo_url, ref=run.ref
            )
            if not run.check_command:
                # A courtesy for the run's reader: worked out beside the launch, not before it.
                suggesting = asyncio.create_task(self._suggest_check(run.id, base_sha))
            recording = await self._queue_write(
                [events_out.run_status(run.id, RunStatus.RUNNING, base_sha=base_sha)],
                [repo.set_run(run.id, base_sha=base_sha)],
            )
            children.append(recording)
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
                # The judge (when the run has one) ranks the variations before synthesis.
                await judge_safely(run, db=self._db, events=self._events, gateway=self._gateway)
                if run.synthesis:
                    synthesized = await self._synthesize(run, ready)
                    if synthesized is not None:
                        children.append(synthesized)
                        await synthesized
                        # Asked again, so the synthesized variation is judged (and can win).
                        await judge_again_safely(
                            run,
                            run.synthesis.get("variation_id"),
                            db=self._db,
                            events=self._events,
                            gateway=self._gateway,
                        )
            await recording
            if suggesting is not None:
                await suggesting
        except asyncio.CancelledError:
            pending = [*children, *([suggesting] if suggesting is not None else [])]
            for child in pending:
                child.cancel()
            if pending:
                await asyncio.wait(pending)
            raise
        except AppError as exc:  # e.g. the repository could not be cloned, setup failed
            if suggesting is not None:
                await suggesting
            if recording is not None:
                await recording
            failed = VariationStatus.FAILED
            await finalize.stop_pending(self._events, run.id, variations, failed, exc.message)
            await finalize.finish_run(self._events, self._db, run, RunStatus.FAILED, exc.message)
            return
        await finalize.finish_run(self._events, self._db, run, None)

    async def _queue_write(
        self, rows: list[EventRow], statements: list[Executable]
    ) -> asyncio.Task[bool]:
        """Queue a write and return without waiting for its commit (a task that ends with it).

        The event log commits in queue order, so whatever this run writes later (setup,
        variations, the end) commits after it: the launch need not wait for the commit.
        """
        task = asyncio.create_task(self._events.write(rows, statements))
        await asyncio.sleep(0)  # the task's first step puts the write in the queue
        return task

    async def _suggest_check(self, run_id: str, base_sha: str) -> None:
        suggested = await suggest_check_command(self._workspaces, run_id=run_id, base_sha=base_sha)
        if suggested is not None:
            await self._events.write(
                statements=[repo.set_run(run_id, suggested_check_command=suggested)]
            )

    async def _stop_early(
        self, run: Run, tasks: dict[int, asyncio.Task[bool]], passed: list[int]
    ) -> None:
        """Enough variations passed: cancel the rest, each keeping the reason."""
        why = early_stop.reason(passed)
        self.stopped_early[run.id] = why
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

    async def _synthesize(self, run: Run, ready: SetupResult) -> asyncio.Task[bool] | None:
        """Start the variation that combines the top diffs (or record why not)."""
        variations = await repo.get_variations(self._db, run.id)
        outcomes = [finalize.outcome_of(v, ranks_of(run)) for v in variations]
        found = synthesis.plan(run, variations, outcomes)
        if isinstance(found, str):
            log.info("run.synthesis_skipped", reason=found)
            await synthesis.skip(self._events, run, found)
            return None
        variation = await synthesis.add_variation(self._events, run, variations, found)
        if variation is None:
            return None
        log.info("run.synthesis_started", variation_id=variation.variation_id, of=found.from_ids)
        return asyncio.create_task(self._variation(run, variation, ready, prompt=found.prompt))

    def _set_up(self, run: Run, base_sha: str) -> AbstractAsyncContextManager[SetupResult]:
        if self._setup is None:
            return contextlib.nullcontext(SetupResult(SetupPlan(None, None, None), base=base_sha))
        return self._setup.prepared(run, base_sha)

    async def _variation(
        self, run: Run, variation: Variation, ready: SetupResult, prompt: str | None = None
    ) -> bool:
        """Run one variation to its end; True when its check passed.

        `prompt`: its own prompt (the synthesized variation's); else the run's.
        """
        vid = variation.variation_id
        with structlog.contextvars.bound_contextvars(variation_id=vid):
            try:
                async with self._slots, contextlib.AsyncExitStack() as stack:
                    egress = None
                    if run.setup.get("network") == "egress" and self._egress is not None:
                        egress = await stack.enter_async_context(self._egress.proxy(run.id, vid))
                    return await self._run_one(run, variation, ready, egress, prompt)
            except asyncio.CancelledError:
                reason = self.stop_reason.get(run.id)
                why = None if reason is not None else self.stopped_early.get(run.id)
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
        self,
        run: Run,
        variation: Variation,
        ready: SetupResult,
        egress: Path | None,
        prompt: str | None = None,
    ) -> bool:
        vid = variation.variation_id
        can = self.runner.capabilities
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
        if prompt is not None:
            job = dataclasses.replace(job, prompt=prompt)
        if not await mark_running(self._events, job):
            return False
        started = time.monotonic()
        try:
            outcome = await run_variation(
                events=self._events,
                runner=self.runner,
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
            why = self.stopped_early.get(run.id)
            if why is not None and can.tree is TreeLocation.HOST and run.id not in self.stop_reason:
                duration = time.monotonic() - started
                await early_stop.record_stopped(self._events, job, why, duration)
            raise
        finally:
            if self._gateway is not None:
                self._gateway.revoke(run.id, vid)
        return outcome.check is not None and outcome.check.exit_code == 0

    async def turn(
        self, run: Run, variation: Variation, prompt: str, turn: int, workspace: Path
    ) -> None:
        """Run follow-up turn `turn` of a finished variation (the caller finishes the run)."""
        vid = variation.variation_id
        with structlog.contextvars.bound_contextvars(run_id=run.id, variation_id=vid, turn=turn):
            try:
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
                        capabilities=self.runner.capabilities,
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
            except asyncio.CancelledError:
                reason = self.stop_reason.get(run.id, "cancelled")
                await finalize.stop_pending(
                    self._events, run.id, [variation], VariationStatus(reason)
                )
            except Exception as exc:
                log.exception("turn.crashed")
                await finalize.stop_pending(
                    self._events,
                    run.id,
                    [variation],
                    VariationStatus.FAILED,
                    f"internal error: {exc}",
                )

    async def open_budget(self, run: Run) -> None:
        """Meter the run's turns against its budget, counting what it already spent."""
        if self._gateway is not None:
            spent = sum(v.cost_usd for v in await repo.get_variations(self._db, run.id))
            self._gateway.open_run(run.id, budget_usd=run.budget_usd, spent_usd=spent)

    async def _run_turn(self, run: Run, job: VariationJob) -> None:
        try:
            await run_variation(
                events=self._events,
                runner=self.runner,
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
