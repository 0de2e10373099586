"""`compare`'s early stop and synthesis, done in the module (the judge: `judge.py`).

- Early stop: the module waits for the variations as they finish (each is checked as soon
  as it ends); once enough passed, it stops waiting for the others and reports them
  `cancelled` with the reason. Whether the engine also stops their running execs is up to
  the engine (the SDK call is abandoned); the server stops its sandboxes for sure.
- Synthesis: the same choice of variations and the same prompt as the server
  (`aideator_scoring.beyond`); one more agent exec on the base tree, checked like the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aideator_scoring.beyond import stop_reason, synthesis_prompt, synthesis_sources

from .report import VariationOutcome, facts_of


def passing_needed(early_stop: str, variations: int, check_command: str) -> int | None:
    """`--early-stop`: `never` -> None, `first_pass` -> 1, K -> K (checked like the server)."""
    value = early_stop.strip().replace("-", "_") or "never"
    if value == "never":
        return None
    if value == "first_pass":
        need = 1
    elif value.isdigit() and int(value) >= 1:
        need = int(value)
    else:
        raise ValueError(
            f"--early-stop takes never, first_pass or a number of passing variations "
            f"(got {early_stop!r})"
        )
    if not check_command.strip():
        raise ValueError("--early-stop needs --check-command: it stops when checks pass")
    if need > variations:
        raise ValueError(f"--early-stop is {need} but there are {variations} variations")
    return need


def check_synthesize_top(top: int, variations: int) -> None:
    """`--synthesize-top`: 0 (off) or 2 up to the number of variations."""
    if top and not 2 <= top <= variations:
        raise ValueError(
            f"--synthesize-top is {top}; it takes 2 up to the number of variations "
            f"({variations}), or 0 for no synthesis"
        )


def _passed(outcome: VariationOutcome) -> bool:
    return outcome.check is not None and outcome.check.passed


async def finish_all(
    finishing: dict[int, Awaitable[VariationOutcome]],
    models: dict[int, str],
    need: int | None,
) -> tuple[list[VariationOutcome], dict[str, Any]]:
    """Every variation's outcome (by id) and the report's `early_stop` entry.

    With `need`, the ones still running when `need` have passed are reported cancelled.
    """
    tasks = {asyncio.ensure_future(f): vid for vid, f in finishing.items()}
    pending = set(tasks)
    done_outcomes: list[VariationOutcome] = []
    passed: list[int] = []
    stopped: list[int] = []
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            done_outcomes.append(task.result())
        passed = sorted(o.variation_id for o in done_outcomes if _passed(o))
        if need is not None and len(passed) >= need and pending:
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)
            stopped = sorted(tasks[t] for t in pending)
            break
    why = stop_reason(passed) if stopped else None
    for vid in stopped:
        done_outcomes.append(VariationOutcome(vid, models[vid], {}, "", None, stopped=why))
    entry = {"passing": need, "stopped_variation_ids": stopped, "reason": why}
    return sorted(done_outcomes, key=lambda o: o.variation_id), entry


async def synthesize(
    outcomes: list[VariationOutcome],
    *,
    top: int,
    model: str,
    task: str,
    run_one: Callable[[int, str, str], Awaitable[VariationOutcome]],
) -> tuple[VariationOutcome | None, dict[str, Any]]:
    """The synthesized variation's outcome (or None) and the report's `synthesis` entry.

    `run_one(variation_id, model, prompt)` runs and checks one more agent on the base.
    """
    entry: dict[str, Any] = {
        "top": top,
        "model": model,
        "status": "skipped",
        "reason": None,
        "variation_id": None,
        "synthesized_from": [],
    }
    chosen = synthesis_sources([facts_of(o).outcome for o in outcomes], top)
    if isinstance(chosen, str):
        return None, entry | {"reason": chosen}
    sources = [o.variation_id for o in chosen]
    vid = max(o.variation_id for o in outcomes) + 1
    prompt = synthesis_prompt(task, chosen, {o.variation_id: o.diff for o in outcomes})
    made = await run_one(vid, model, prompt)
    entry |= {"status": "started", "variation_id": vid, "synthesized_from": sources}
    return dataclasses.replace(made, synthesized_from=sources), entry
