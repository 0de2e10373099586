"""The judge step of a run: after the variations end, before scoring and the winner.

It never fails the run: any failure is recorded on the run (`status: failed` and the
error) and as a `judge` event, and the policy ranks without the judge's part.
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
from app.judge.prompt import Candidate, user_message
from app.judge.record import JUDGE_IDENTITY
from app.judge.repository import output_tail
from app.judge.schema import JudgeAnswerError, parse_answer, tool_definition
from app.models import Run, Variation
from app.runs import repository as repo
from app.runs.finalize import outcome_of
from app.runs.ports import Gatekeeper

log = structlog.get_logger()


def _check(run: Run, v: Variation) -> str:
    if not run.check_command:
        return "no check command (nothing tested this variation)"
    if v.check_exit_code is None:
        return "did not run"
    verdict = "passed" if v.check_exit_code == 0 else "failed"
    return f"{verdict} (exit {v.check_exit_code}) — `{run.check_command}`"


async def candidates(db: Database, run: Run, variations: list[Variation]) -> list[Candidate]:
    """The variations the judge compares: those the policy scores, by id."""
    scored = {o.variation_id for o in rank([outcome_of(v) for v in variations])}
    return [
        Candidate(
            variation_id=v.variation_id,
            label=variation_label(v.spec),
            status=v.status,
            diff=v.diff or "",
            check=_check(run, v),
            check_tail=v.check_output or "",
            output_tail=await output_tail(db, run.id, v.variation_id),
        )
        for v in variations
        if v.variation_id in scored
    ]


async def judge_run(
    run: Run, *, db: Database, events: EventLog, gateway: Gatekeeper | None
) -> dict[str, Any]:
    """Ask the run's judge, store what it said on the run, and return the stored record."""
    spec = {k: run.judge[k] for k in ("model", "instructions") if run.judge.get(k)}
    model = str(spec["model"])
    outcome: dict[str, Any] = {"status": "ok", "error": None, "verdicts": {}}
    cost = 0.0
    shown = await candidates(db, run, await repo.get_variations(db, run.id))
    if not shown:
        outcome |= {"status": "skipped", "error": "no variation has a result to judge"}
    elif gateway is None:
        outcome |= {"status": "skipped", "error": "no model gateway"}
    else:
        ids = [c.variation_id for c in shown]
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
            cost = gateway.cost_of(run.id, JUDGE_IDENTITY)
    record = spec | outcome | {"cost_usd": round(cost, 6)}
    log.info("run.judged", model=model, status=record["status"], error=record["error"])
    await events.write([events_out.judge(run.id, record)], [repo.set_run(run.id, judge=record)])
    return record


async def judge_safely(
    run: Run, *, db: Database, events: EventLog, gateway: Gatekeeper | None
) -> None:
    """`judge_run`, with any unexpected error recorded as a failed judge; updates `run.judge`."""
    if not run.judge.get("model"):
        return
    try:
        run.judge = await judge_run(run, db=db, events=events, gateway=gateway)
    except Exception as exc:
        log.exception("run.judge_crashed")
        record = {
            **{k: run.judge[k] for k in ("model", "instructions") if run.judge.get(k)},
            "status": "failed",
            "error": f"internal error: {exc}",
            "cost_usd": 0.0,
            "verdicts": {},
        }
        await events.write([events_out.judge(run.id, record)], [repo.set_run(run.id, judge=record)])
        run.judge = record
