"""The comparison policy, as pure functions.

Order: check passed, then no check, then check failed; a non-empty diff before an empty one;
lower cost, then shorter duration (unknown values after known ones); then lower variation id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

_CHECK_ORDER = {True: 0, None: 1, False: 2}


@dataclass(frozen=True)
class Candidate:
    """What the policy looks at for one variation."""

    variation_id: int
    check_passed: bool | None  # None: no check command was given
    has_diff: bool
    cost_usd: float | None
    duration_seconds: float | None


def _known_first(value: float | None) -> tuple[int, float]:
    return (1, 0.0) if value is None else (0, value)


def sort_key(candidate: Candidate) -> tuple[int, int, tuple[int, float], tuple[int, float], int]:
    """The policy as a sort key: smaller is better."""
    return (
        _CHECK_ORDER[candidate.check_passed],
        0 if candidate.has_diff else 1,
        _known_first(candidate.cost_usd),
        _known_first(candidate.duration_seconds),
        candidate.variation_id,
    )


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates best first."""
    return sorted(candidates, key=sort_key)


def choose_winner(candidates: Iterable[Candidate]) -> Candidate | None:
    """The best candidate that changed something and did not fail its check; else None."""
    for candidate in rank(candidates):
        if candidate.has_diff and candidate.check_passed is not False:
            return candidate
    return None


def winner_reason(winner: Candidate, field_size: int) -> str:
    """Why the winner won, in a few words."""
    why = {True: "its check passed and it changed the code", None: "it changed the code"}
    return (
        f"best of {field_size}: {why[winner.check_passed]}; ties go to lower cost, "
        "then shorter duration, then lower variation id"
    )
