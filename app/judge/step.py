"""The judge step of a run: after the variations end, before scoring and the winner.

With synthesis, the judge is asked a second time once the synthesized variation was scored
(`judge_again_safely`), over every scored variation including it; that answer replaces the
first, the costs add up and `calls` is 2.

It never fails the run: any failure is recorded on the run (`status: failed` and the error)
and as a `judge` event, and the policy ranks without the judge's part.
"""

from __future__ import annotations

from typing import Any

import structlog
from aideator_scoring.policy import rank
from aideator_scoring.report import variation_label

from app.db import Database
from app.events import payloads as events_out
from app.events.log import EventLog
from app.judge.call import JudgeCallError, ask_judge
from app.judge.prompt import Candidate, check_summary, user_message
from app.judge.record import JUDGE_IDENTITY
from app.judge.repository import output_tail
from app.judge.schema import JudgeAnswerError, parse_answer, tool_definition
from app.models import Run, Variation
from app.runs import repository as repo
from app.runs.finalize import outcome_of
from app.runs.ports import Gatekeeper

log = structlog.get_logger()


async def candidates(db: Database, run: Run, variations: list[Variation]) -> list[Candidate]:
    """The variations the judge compares: those the policy scores, by id."""
    scored = {o.variation_id for o in rank([outcome_of(v) for v in variations])}
    return [
        Candidate(
            variation_id=v.variation_id,
            label=variation_label(v.spec),
            status=v.status,
            diff=v.diff or "",
            check=check_summary(run.check_command, v.check_exit_code),
            check_tail=v.check_output or "",
            output_tail=await output_tail(db, run.id, v.variation_id),
        )
        for v in variations
        if v.variation_id in scored
    ]


async def _ask(
    run: Run, spec: dict[str, Any], shown: list[Candidate], gateway: Gatekeeper | None
) -> tuple[dict[str, Any], float]:
    """One judge call: `{status, error, verdicts}` and what this call cost."""
    outcome: dict[str, Any] = {"status": "ok", "error": None, "verdicts": {}}
    if not shown:
        return outcome | {"status": "skipped", "error": "no variation has a result to judge"}, 0.0
    if gateway is None:
        return outcome | {"status": "skipped", "error": "no model gateway"}, 0.0
    model = str(spec["model"])
    ids = [c.variation_id for c in shown]
    before = gateway.cost_of(run.id, JUDGE_IDENTITY)  # the identity's total spans both calls
    access = gateway.access_for(run.id, JUDGE_IDENTITY, model=model)
    try:
        raw = await ask_judge(
            base_url=access.url or "",
            token=access.token,
            model=model,
            text=user_message(run.prompt, shown, spec.get("instructions")),
            tool=tool_definition(ids),
        )
        verdicts = parse_answer(raw, ids)
        outcome["verdicts"] = {str(v.variation_id): v.as_dict() for v in verdicts}
    except JudgeCallError as exc:
        outcome |= {"status": "skipped" if exc.skipped else "failed", "error": exc.message}
    except JudgeAnswerError as exc:
        outcome |= {"status": "failed", "error": f"invalid ranking: {exc}"}
    finally:
        gateway.revoke(run.id, JUDGE_IDENTITY)
    return outcome, max(gateway.cost_of(run.id, JUDGE_IDENTITY) - before, 0.0)


def _after_synthesis(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The record once the judge was asked again after synthesis.

    The second call's answer replaces the first's. When it gave none, the first call's
    status and verdicts stay and `error` says what became of the second call.
    """
    if second["status"] == "ok":
        return second
    said = f"second call (after synthesis) {second['status']}: {second['error']}"
    if first.get("status") == "ok":
        return {"status": "ok", "error": said, "verdicts": first.get("verdicts") or {}}
    return {"status": first.get("status"), "error": f"{first.get('error')}; {said}", "verdicts": {}}


async def judge_run(
    run: Run,
    *,
    db: Database,
    events: EventLog,
    gateway: Gatekeeper | None,
    again: bool = False,
) -> dict[str, Any]:
    """Ask the run's judge, store what it said on the run, and return the stored record.

    `again`: the second call, after synthesis, over every scored variation including the
    synthesized one; its cost is added to the first's and `calls` becomes 2.
    """
    spec = {k: run.judge[k] for k in ("model", "instructions") if run.judge.get(k)}
    shown = await candidates(db, run, await repo.get_variations(db, run.id))
    outcome, cost = await _ask(run, spec, shown, gateway)
    calls = 1
    if again:
        outcome = _after_synthesis(run.judge, outcome)
        cost += float(run.judge.get("cost_usd") or 0.0)
        calls = int(run.judge.get("calls") or 1) + 1
    record = spec | outcome | {"cost_usd": round(cost, 6), "calls": calls}
    log.info("run.judged", model=spec["model"], status=record["status"], error=record["error"])
    await events.write([events_out.judge(run.id, record)], [repo.set_run(run.id, judge=record)])
    return record


async def judge_safely(
    run: Run,
    *,
    db: Database,
    events: EventLog,
    gateway: Gatekeeper | None,
    again: bool = False,
) -> None:
    """`judge_run`, with any unexpected error recorded as a failed judge; updates `run.judge`."""
    if not run.judge.get("model"):
        return
    try:
        run.judge = await judge_run(run, db=db, events=events, gateway=gateway, again=again)
    except Exception as exc:
        log.exception("run.judge_crashed")
        failed = {"status": "failed", "error": f"internal error: {exc}", "verdicts": {}}
        record = {
            **{k: run.judge[k] for k in ("model", "instructions") if run.judge.get(k)},
            **(_after_synthesis(run.judge, failed) if again else failed),
            "cost_usd": float(run.judge.get("cost_usd") or 0.0) if again else 0.0,
            "calls": int(run.judge.get("calls") or 1) + 1 if again else 1,
        }
        await events.write([events_out.judge(run.id, record)], [repo.set_run(run.id, judge=record)])
        run.judge = record


async def judge_again_safely(
    run: Run,
    synthesized: int | None,
    *,
    db: Database,
    events: EventLog,
    gateway: Gatekeeper | None,
) -> None:
    """After synthesis: ask the judge again when the synthesized variation has a score.

    A synthesized variation the policy does not score (cancelled, or it failed before its
    agent reported) leaves the first call's answer as it is: there is nothing new to judge.
    """
    if not run.judge.get("model") or "status" not in run.judge or synthesized is None:
        return
    variations = await repo.get_variations(db, run.id)
    if synthesized not in {o.variation_id for o in rank([outcome_of(v) for v in variations])}:
        return
    await judge_safely(run, db=db, events=events, gateway=gateway, again=True)
