"""Runs one variation: agent lines into the event log, then its final record."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from app.errors import AppError
from app.events import payloads as events_out
from app.events.log import EventLog
from app.events.protocol import AgentLine, parse_line
from app.models import utcnow
from app.runners.base import AgentExit, Runner, VariationJob
from app.runs import repository as repo
from app.runs.ports import CheckOutcome
from app.runs.turns import record_turn, turns_of
from app.status import VariationStatus

log = structlog.get_logger()

OUTPUT_TAIL_CHARS = 4000
_ZERO_USAGE = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


@dataclass
class VariationOutcome:
    """What the agent left behind."""

    status: VariationStatus = VariationStatus.FAILED
    exit_code: int | None = None
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    check: CheckOutcome | None = None
    duration: float = 0.0


async def mark_running(events: EventLog, job: VariationJob) -> bool:
    """queued -> running, with its event."""
    return await events.write(
        [
            events_out.variation_status(
                job.run_id, job.variation_id, VariationStatus.RUNNING, turn=job.turn
            )
        ],
        guard=repo.set_variation(job.run_id, job.variation_id, "running", started_at=utcnow()),
    )


async def pump_agent(
    events: EventLog, runner: Runner, job: VariationJob, outcome: VariationOutcome
) -> None:
    """Relay the agent's lines to the log until it exits; fills `outcome`."""
    final: AgentExit | None = None
    budget: str | None = None  # the run's budget stopped the agent: the reason to record
    async for item in runner.run(job):
        if isinstance(item, AgentExit):
            final = item
            break
        line = parse_line(item)
        if line is None:
            continue
        if line.type == "error" and line.data.get("code") == "budget_exhausted" and line.text:
            budget = line.text
        if line.type == "result":
            outcome.result = dict(line.data)
            line = AgentLine("result", line.seq, line.text, _without_diff(line.data))
        if job.seq_base and line.seq is not None:
            # A follow-up turn numbers its lines after the earlier turns' lines.
            line = AgentLine(line.type, line.seq + job.seq_base, line.text, line.data)
        row = events_out.agent_line(job.run_id, job.variation_id, line, job.turn)
        if not events.offer(row):  # the queue is full: wait for room (back-pressure)
            await events.append(row)
    if final is None:
        outcome.error = "agent ended without reporting how it exited"
        return
    if final.final_result is not None:
        outcome.result = dict(final.final_result)  # authoritative (e.g. dagger return value)
    outcome.exit_code = final.exit_code
    agent_exit = outcome.result.get("exit_code", final.exit_code)
    if final.timed_out:
        outcome.status, outcome.error = VariationStatus.TIMED_OUT, final.error or "timed out"
    elif final.error:
        outcome.status, outcome.error = VariationStatus.FAILED, final.error
    elif not outcome.result:
        outcome.status = VariationStatus.FAILED
        outcome.error = f"agent exited {final.exit_code} without a result line"
    elif final.exit_code == 0 and agent_exit == 0:
        outcome.status = VariationStatus.SUCCEEDED
    else:
        outcome.status = VariationStatus.FAILED
        if budget is not None and job.turn > 1:
            budget = f"turn {job.turn}: {budget}"  # a follow-up's turn ran out of budget
        outcome.error = budget or f"agent exited {agent_exit}"
    outcome.exit_code = agent_exit if isinstance(agent_exit, int) else final.exit_code


def _without_diff(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "diff"}


async def run_check(
    runner: Runner, job: VariationJob, command: str | None, timeout: float
) -> CheckOutcome | None:
    """Run the check command through the backend, unless the run has none."""
    if not command:
        return None
    try:
        return await runner.check(job, command, timeout)
    except Exception as exc:  # a broken check is the variation's failure, not the server's
        log.warning("check.failed_to_run", error=str(exc))
        return CheckOutcome(exit_code=None, duration_seconds=0.0, output_tail=str(exc))


def _stats(result: dict[str, Any]) -> dict[str, int]:
    stats = result.get("diff_stats") or {}
    return {k: int(stats.get(k, 0) or 0) for k in ("files", "insertions", "deletions")}


def build_manifest(job: VariationJob, result: dict[str, Any], sandbox: str) -> dict[str, Any]:
    """What it takes to reproduce the variation."""
    spec = job.spec
    return {
        "repo_url": job.repo_url,
        "ref": job.ref,
        "base_sha": job.base_sha,
        # "commit": base_sha is the repository's commit; "snapshot": a folder's files, with
        # snapshot_tree the git tree id (a hash of exactly those files).
        "source": job.source.get("source", "commit"),
        **({"snapshot_tree": job.source["tree"]} if "tree" in job.source else {}),
        "agent": spec.agent,
        "agent_version": result.get("agent_version"),
        "claude_code_version": result.get("claude_code_version"),
        "model": spec.model,
        "command": None if spec.command is None else list(spec.command),
        "prompt_sha256": hashlib.sha256(job.prompt.encode()).hexdigest(),
        "sandbox": sandbox,
        "setup": {
            "command": job.setup_command,
            "source": job.setup_source,  # spec, devcontainer, or None (no setup)
            "tree": job.setup_tree,
        },
        "network": job.network,
        "image": job.image,
        # A fork: {run_id, variation_id, diff_sha256} of the variation whose tree it started from.
        "parent": job.parent,
        "settings": {
            "timeout_seconds": job.timeout_seconds,
            "max_turns": spec.max_turns,
            "system_prompt_append": spec.system_prompt_append,
            "env_names": sorted(job.env),
        },
    }


async def record_outcome(
    events: EventLog,
    job: VariationJob,
    outcome: VariationOutcome,
    sandbox: str,
    gateway_record: dict[str, Any] | None = None,
) -> None:
    """Store the final record and emit `variation_result` + `variation_status`.

    `gateway_record` (models used, refusals by rule, as the gateway saw them) joins the
    manifest.
    """
    result = outcome.result
    stats = _stats(result)
    check = outcome.check
    check_payload = (
        None
        if check is None
        else {
            "exit_code": check.exit_code,
            "passed": check.exit_code == 0,
            "duration_seconds": round(check.duration_seconds, 3),
            "output_tail": check.output_tail[-OUTPUT_TAIL_CHARS:],
        }
    )
    vid = job.variation_id
    stored = await repo.get_variation(events.db, job.run_id, vid)
    metered = stored is not None and (stored.input_tokens or stored.output_tokens)
    values: dict[str, Any] = {}
    if stored is not None and metered:
        # The gateway's metering is authoritative; the agent's own count is a fallback.
        usage = {k: int(getattr(stored, k)) for k in _ZERO_USAGE}
        cost = stored.cost_usd
    else:
        reported = result.get("usage") or {}
        usage = {k: int(reported.get(k, 0) or 0) for k in _ZERO_USAGE}
        cost = float(result.get("cost_usd") or 0.0)
        values |= usage | {"cost_usd": cost}
    manifest = build_manifest(job, result, sandbox) | (gateway_record or {})
    duration = outcome.duration
    if stored is not None and job.turn > 1:
        earlier = stored.manifest
        manifest["prompt_sha256"] = earlier.get("prompt_sha256")  # the run's own prompt
        manifest["session_id"] = result.get("session_id") or earlier.get("session_id")
        for key in ("source", "snapshot_tree"):  # how the base was made (turn 1 knew)
            if key in earlier:
                manifest[key] = earlier[key]
        duration += stored.duration_seconds or 0.0
        previous = turns_of(stored)
    else:
        manifest["session_id"] = result.get("session_id")
        previous = []
    manifest["turns"] = record_turn(previous, job.turn, job.prompt)
    values |= {
        "exit_code": outcome.exit_code,
        "error": outcome.error,
        "diff": result.get("diff") or "",
        "files_changed": stats["files"],
        "insertions": stats["insertions"],
        "deletions": stats["deletions"],
        "duration_seconds": round(duration, 3),
        "finished_at": utcnow(),
        "manifest": manifest,
    }
    if check is not None:
        values |= {
            "check_exit_code": check.exit_code,
            "check_output": check.output_tail[-OUTPUT_TAIL_CHARS:],
            "check_duration_seconds": round(check.duration_seconds, 3),
        }
    await events.write(
        [
            events_out.variation_result(
                job.run_id,
                vid,
                exit_code=outcome.exit_code,
                diff_stats=stats,
                usage=usage,
                cost_usd=cost,
                check=check_payload,
                turn=job.turn,
            ),
            events_out.variation_status(
                job.run_id, vid, outcome.status, outcome.error, turn=job.turn
            ),
        ],
        guard=repo.set_variation(job.run_id, vid, outcome.status, **values),
    )


async def run_variation(
    *,
    events: EventLog,
    runner: Runner,
    job: VariationJob,
    check_command: str | None,
    check_timeout: float,
    apply_diff: Callable[[Path, str], Awaitable[None]] | None = None,
    gateway_record: Callable[[], dict[str, Any]] | None = None,
) -> VariationOutcome:
    """Run the agent under the job's timeout, then the check; record everything.

    `apply_diff` is given when the agent's tree lives elsewhere (a Dagger container): its
    diff is applied to the host's copy of base_sha so the check sees the variation's tree.
    """
    outcome = VariationOutcome()
    started = time.monotonic()
    try:
        async with asyncio.timeout(job.timeout_seconds):
            await pump_agent(events, runner, job, outcome)
    except TimeoutError:
        outcome.status = VariationStatus.TIMED_OUT
        outcome.error = f"timed out after {job.timeout_seconds:g} s"
    outcome.duration = time.monotonic() - started
    if outcome.status in (VariationStatus.SUCCEEDED, VariationStatus.FAILED) and outcome.result:
        diff = outcome.result.get("diff")
        if check_command and apply_diff is not None and isinstance(diff, str) and diff:
            try:
                await apply_diff(job.workspace, diff)
            except AppError as exc:
                outcome.check = CheckOutcome(None, 0.0, f"could not apply the diff: {exc}")
        if outcome.check is None:
            outcome.check = await run_check(runner, job, check_command, check_timeout)
    facts = None if gateway_record is None else gateway_record()
    await record_outcome(events, job, outcome, runner.identity, facts)
    return outcome
