"""The score policy: check passed, then the judge's rank (when a judge ranked the run), then
a non-empty diff, then lower cost, then less time.

Ties are broken by variation id, so the order is total and the winner never depends on the
order variations are listed in. A score is points (2 for a passed check, 1 for a non-empty
diff); the rank orders equal points by cost, time and id. `docs/scoring.md` is the
user-facing description.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

SCORED_STATUSES = frozenset({"succeeded", "failed", "timed_out"})
POLICY = "check_passed > non_empty_diff > lower_cost > shorter_time > variation_id"
JUDGED_POLICY = (
    "check_passed > judge_rank > non_empty_diff > lower_cost > shorter_time > variation_id"
)


@dataclass(frozen=True)
class Outcome:
    """What the policy looks at for one variation."""

    variation_id: int
    status: str
    check_passed: bool | None  # None: no check ran
    diff_files: int
    cost_usd: float | None  # None: unknown (no gateway metered it)
    duration_seconds: float | None
    has_result: bool = True  # False: it failed before its agent reported (e.g. no clone)
    judge_rank: int | None = None  # 1 = the judge's best; None: no judge ranked it


def _unknown_last(value: float | None) -> tuple[bool, float]:
    return (value is None, 0.0 if value is None else value)


SortKey = tuple[bool, tuple[bool, float], bool, tuple[bool, float], tuple[bool, float], int]


def sort_key(o: Outcome) -> SortKey:
    """The policy as a sort key: smaller is better; unknown cost or time sorts last.

    A check that did not run ranks like a failed one: only a passed check counts. The
    judge's rank comes right after the check (a judge cannot lift a failed check above a
    passed one); a variation the judge did not rank sorts after those it did (`rank` drops
    the part for all when one scored variation has none).
    """
    return (
        not o.check_passed,
        _unknown_last(None if o.judge_rank is None else float(o.judge_rank)),
        o.diff_files <= 0,
        _unknown_last(None if o.cost_usd is None else round(o.cost_usd, 6)),
        _unknown_last(o.duration_seconds),
        o.variation_id,
    )


def rank(outcomes: list[Outcome]) -> list[Outcome]:
    """Scored outcomes best first.

    Cancelled and interrupted variations are not scored, nor are those that failed before
    their agent reported a result: there is nothing to judge, so they get no rank.

    The judge's rank counts only when it ranked every scored variation: when one of them has
    no judge rank (e.g. a synthesized variation the judge never saw), the part is dropped for
    the whole run (the returned outcomes carry `judge_rank=None`), so an unjudged variation
    is ranked by the other parts like all the rest instead of sorting after the judged ones.
    """
    scored = [o for o in outcomes if o.status in SCORED_STATUSES and o.has_result]
    if any(o.judge_rank is None for o in scored):
        scored = [o if o.judge_rank is None else replace(o, judge_rank=None) for o in scored]
    return sorted(scored, key=sort_key)


def qualifies(o: Outcome) -> bool:
    """Whether a policy may name this variation the winner.

    It changed something and its check did not fail. An empty diff never wins by policy,
    even with a passing check: there is nothing to apply or push (a user may still pick it).
    """
    return o.diff_files > 0 and o.check_passed is not False


def score_value(o: Outcome) -> float:
    """Points: 2 for a passed check, 1 for a non-empty diff."""
    return 2.0 * bool(o.check_passed) + 1.0 * (o.diff_files > 0)


def score_parts(o: Outcome, position: int, total: int) -> dict[str, Any]:
    """Why a variation scored what it did (`judge_rank` only when a judge ranked it)."""
    judged = {} if o.judge_rank is None else {"judge_rank": o.judge_rank}
    return {
        "check_passed": o.check_passed,
        **judged,
        "has_diff": o.diff_files > 0,
        "cost_usd": None if o.cost_usd is None else round(o.cost_usd, 6),
        "duration_seconds": o.duration_seconds,
        "points": score_value(o),
        "rank": position,
        "of": total,
        "qualifies": qualifies(o),
        "policy": POLICY if o.judge_rank is None else JUDGED_POLICY,
    }


def choose_winner(outcomes: list[Outcome]) -> Outcome | None:
    """The best-ranked outcome that qualifies, or None."""
    return next((o for o in rank(outcomes) if qualifies(o)), None)


def winner_reason(o: Outcome, total: int) -> str:
    """A short sentence saying why the policy picked this winner."""
    why = "check passed" if o.check_passed else "changed the code (no check ran)"
    return f"top score of {total}: {why}"
