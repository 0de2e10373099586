"""Synthesis: one more variation that combines the best-ranked diffs into one change.

When the run's variations (and its judge, if any) are done, the scoring policy ranks them
(the judge's rank is one of its keys); the `top` best with a non-empty diff go, with the
task, into a new variation's prompt. It starts from the base like the others and is checked,
scored and streamed like any of them. Fewer than `top` diffs, or a spent budget: skipped,
with the reason recorded on the run. Which variations and the prompt come from
`aideator_scoring.beyond`, which the Dagger module's `compare` uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aideator_scoring.beyond import (
    DIFF_LIMIT_CHARS,
    fair_shares,
    synthesis_prompt,
    synthesis_sources,
)
from aideator_scoring.policy import Outcome

from app.config import Settings
from app.errors import InvalidInput
from app.events import payloads as events_out
from app.events.log import EventLog
from app.judge.record import judge_cost
from app.models import Run, Variation
from app.runs import repository as repo
from app.runs.specs import check_model
from app.schemas import RunCreate, SynthesisRead, VariationSpec
from app.status import RunStatus, VariationStatus

__all__ = ["DIFF_LIMIT_CHARS", "Plan", "add_variation", "fair_shares", "plan", "read", "skip"]


def setting(body: RunCreate, specs: list[VariationSpec], settings: Settings) -> dict[str, Any]:
    """The stored setting (`{"top": k, "model": m}`, or `{}`); refuses one that can't act."""
    if body.synthesize is None:
        return {}
    top = body.synthesize.top
    if top > len(specs):
        raise InvalidInput(
            f"synthesize.top is {top} but the run has {len(specs)} variations "
            "(it combines the best `top` of them: 2 up to the number of variations)",
            details={"field": "synthesize.top"},
        )
    model = body.synthesize.model or next(
        (s.model for s in specs if s.agent == "claude-code" and s.model), None
    )
    checked = check_model(VariationSpec(model=model), "synthesize.model", settings)
    return {"top": top, "model": checked.model}


def read(run: Run) -> SynthesisRead | None:
    """The API view of a run's synthesis (None: the spec asked for none)."""
    found = run.synthesis
    if not found:
        return None
    vid = found.get("variation_id")
    return SynthesisRead(
        top=int(found["top"]),
        model=str(found["model"]),
        status=found.get("status", "pending"),
        reason=found.get("reason"),
        variation_id=vid if isinstance(vid, int) else None,
        synthesized_from=[int(v) for v in found.get("from", [])],
    )


@dataclass(frozen=True)
class Plan:
    """What the synthesized variation combines, and the prompt it gets."""

    from_ids: list[int]
    prompt: str


def plan(run: Run, variations: list[Variation], outcomes: list[Outcome]) -> Plan | str:
    """The plan, or why synthesis is skipped (`outcomes`: the variations' scoring views)."""
    top = int(run.synthesis["top"])
    spent = sum(v.cost_usd for v in variations) + judge_cost(run)
    if run.budget_usd is not None and spent >= run.budget_usd:
        return f"the run's budget of ${run.budget_usd:g} is spent"
    chosen = synthesis_sources(outcomes, top)
    if isinstance(chosen, str):
        return chosen
    diffs = {v.variation_id: v.diff or "" for v in variations}
    return Plan(
        from_ids=[o.variation_id for o in chosen],
        prompt=synthesis_prompt(run.prompt, chosen, diffs),
    )


async def skip(events: EventLog, run: Run, reason: str) -> None:
    """Record that synthesis did not start, and why."""
    run.synthesis = run.synthesis | {"status": "skipped", "reason": reason}
    await events.write(statements=[repo.set_run(run.id, synthesis=run.synthesis)])


async def add_variation(
    events: EventLog, run: Run, variations: list[Variation], chosen: Plan
) -> Variation | None:
    """Store the synthesized variation (queued) with its lineage; None if the run ended."""
    vid = max(v.variation_id for v in variations) + 1
    variation = Variation(
        run_id=run.id,
        variation_id=vid,
        spec={"agent": "claude-code", "model": run.synthesis["model"]},
        status=VariationStatus.QUEUED,
        synthesized_from=chosen.from_ids,
    )
    run.synthesis = run.synthesis | {
        "status": "started",
        "variation_id": vid,
        "from": chosen.from_ids,
    }
    stored = await events.write(
        [events_out.variation_status(run.id, vid, VariationStatus.QUEUED)],
        [repo.insert_variations([variation])],
        guard=repo.set_run(run.id, synthesis=run.synthesis).where(
            repo.RUNS.c.status == RunStatus.RUNNING
        ),
    )
    return variation if stored else None
