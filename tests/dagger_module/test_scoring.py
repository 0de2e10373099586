"""The comparison policy on hand-built candidates: every tie-break in order."""

from __future__ import annotations

import itertools

from aideator_dagger.scoring import Candidate, choose_winner, rank, sort_key
from hypothesis import given
from hypothesis import strategies as st


def cand(
    vid: int,
    *,
    check: bool | None = None,
    diff: bool = True,
    cost: float | None = None,
    duration: float | None = None,
) -> Candidate:
    return Candidate(vid, check, diff, cost, duration)


def order(*candidates: Candidate) -> list[int]:
    return [c.variation_id for c in rank(candidates)]


def test_check_passed_then_no_check_then_failed() -> None:
    assert order(cand(0, check=False), cand(1, check=None), cand(2, check=True)) == [2, 1, 0]


def test_check_outranks_diff_cost_and_duration() -> None:
    passed = cand(5, check=True, diff=False, cost=9.0, duration=900)
    failed = cand(1, check=False, diff=True, cost=0.0, duration=1)
    assert order(failed, passed) == [5, 1]


def test_non_empty_diff_before_empty() -> None:
    assert order(cand(0, diff=False, cost=0.0), cand(1, diff=True, cost=5.0)) == [1, 0]


def test_lower_cost_then_unknown_cost() -> None:
    assert order(cand(0, cost=None), cand(1, cost=0.30), cand(2, cost=0.02)) == [2, 1, 0]


def test_cost_outranks_duration() -> None:
    assert order(cand(0, cost=0.5, duration=1), cand(1, cost=0.1, duration=99)) == [1, 0]


def test_shorter_duration_then_unknown_duration() -> None:
    assert order(cand(0, duration=None), cand(1, duration=9.0), cand(2, duration=3.0)) == [2, 1, 0]


def test_variation_id_breaks_full_ties() -> None:
    assert order(cand(3, cost=1, duration=1), cand(1, cost=1, duration=1)) == [1, 3]


def test_winner_must_change_something_and_not_fail_its_check() -> None:
    assert choose_winner([cand(0, check=False), cand(1, check=True, diff=False)]) is None
    assert choose_winner([]) is None
    winner = choose_winner([cand(0, check=False), cand(1, check=None), cand(2, diff=False)])
    assert winner is not None and winner.variation_id == 1


candidates = st.lists(
    st.builds(
        Candidate,
        variation_id=st.integers(0, 1000),
        check_passed=st.sampled_from([True, False, None]),
        has_diff=st.booleans(),
        cost_usd=st.none() | st.floats(0, 100, allow_nan=False),
        duration_seconds=st.none() | st.floats(0, 1e4, allow_nan=False),
    ),
    max_size=12,
    unique_by=lambda c: c.variation_id,
)


@given(candidates, st.randoms())
def test_ranking_ignores_input_order(items: list[Candidate], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert rank(shuffled) == rank(items)
    ranked = rank(items)
    assert all(sort_key(a) <= sort_key(b) for a, b in itertools.pairwise(ranked))
    winner = choose_winner(items)
    eligible = [c for c in ranked if c.has_diff and c.check_passed is not False]
    assert winner == (eligible[0] if eligible else None)
