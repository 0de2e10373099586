"""The score policy over hand-built variations: every tie-break, and a total order."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import httpx
from aideator_scoring.policy import (
    Outcome,
    choose_winner,
    qualifies,
    rank,
    score_parts,
    score_value,
    sort_key,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import command_spec, wait_finished


def outcome(
    vid: int,
    *,
    check: bool | None = False,
    files: int = 1,
    cost: float = 0.01,
    duration: float | None = 5.0,
    status: str = "succeeded",
) -> Outcome:
    """A finished variation with sensible defaults; each test changes one thing."""
    return Outcome(vid, status, check, files, cost, duration)


def ids(outcomes: list[Outcome]) -> list[int]:
    return [o.variation_id for o in outcomes]


class TestTieBreaks:
    def test_passed_check_beats_everything_else(self) -> None:
        passed = outcome(3, check=True, files=1, cost=9.0, duration=900.0)
        cheaper = outcome(0, check=False, files=5, cost=0.0, duration=1.0)
        assert ids(rank([cheaper, passed])) == [3, 0]

    def test_non_empty_diff_beats_cost(self) -> None:
        changed = outcome(2, files=1, cost=5.0)
        empty = outcome(0, files=0, cost=0.0)
        assert ids(rank([empty, changed])) == [2, 0]

    def test_lower_cost_beats_time(self) -> None:
        cheap_slow = outcome(1, cost=0.01, duration=100.0)
        dear_fast = outcome(0, cost=0.02, duration=1.0)
        assert ids(rank([dear_fast, cheap_slow])) == [1, 0]

    def test_shorter_time_beats_id(self) -> None:
        fast = outcome(4, duration=1.0)
        slow = outcome(0, duration=2.0)
        assert ids(rank([slow, fast])) == [4, 0]

    def test_unknown_time_sorts_after_known(self) -> None:
        assert ids(rank([outcome(0, duration=None), outcome(1, duration=1e6)])) == [1, 0]

    def test_full_tie_goes_to_lower_id(self) -> None:
        assert ids(rank([outcome(7), outcome(2), outcome(5)])) == [2, 5, 7]

    def test_costs_equal_to_a_micro_dollar_tie(self) -> None:
        a = outcome(1, cost=0.0100001, duration=1.0)
        b = outcome(0, cost=0.0100004, duration=2.0)
        assert ids(rank([a, b])) == [1, 0]  # same rounded cost, so time decides

    def test_no_check_and_failed_check_rank_alike(self) -> None:
        # A variation whose check never ran is not better than one whose check failed.
        assert ids(rank([outcome(0, check=None), outcome(1, check=False, cost=0.001)])) == [1, 0]

    def test_unscored_statuses_are_left_out(self) -> None:
        field = [
            outcome(0, status="cancelled", check=True),
            outcome(1, status="interrupted", check=True),
            outcome(2, status="timed_out", files=0),
            outcome(3, status="failed", files=0),
        ]
        assert ids(rank(field)) == [2, 3]


class TestWinner:
    def test_winner_is_best_qualifying(self) -> None:
        field = [outcome(0, check=False), outcome(1, check=True, cost=1.0), outcome(2, files=0)]
        winner = choose_winner(field)
        assert winner is not None and winner.variation_id == 1

    def test_no_winner_when_every_check_failed(self) -> None:
        assert choose_winner([outcome(0, check=False), outcome(1, check=False, files=0)]) is None

    def test_without_check_a_change_wins(self) -> None:
        winner = choose_winner([outcome(0, check=None, files=0), outcome(1, check=None)])
        assert winner is not None and winner.variation_id == 1
        assert choose_winner([outcome(0, check=None, files=0)]) is None

    def test_empty_diff_never_wins_even_with_a_passed_check(self) -> None:
        assert not qualifies(outcome(0, check=True, files=0))
        assert not qualifies(outcome(0, check=False, files=3))
        assert qualifies(outcome(0, check=True, files=1))
        assert qualifies(outcome(0, check=None, files=1))
        empty_passed, changed_passed = outcome(0, check=True, files=0), outcome(1, check=True)
        assert ids(rank([changed_passed, empty_passed])) == [1, 0]
        winner = choose_winner([empty_passed, changed_passed])
        assert winner is not None and winner.variation_id == 1

    def test_unknown_cost_and_time_sort_last(self) -> None:
        known, unknown = outcome(1, cost=5.0), Outcome(0, "succeeded", False, 1, None, 5.0)
        assert ids(rank([unknown, known])) == [1, 0]
        slow, untimed = outcome(2, duration=900.0), outcome(0, duration=None)
        assert ids(rank([untimed, slow])) == [2, 0]

    def test_nothing_scored_no_winner(self) -> None:
        assert choose_winner([outcome(0, status="cancelled", check=True)]) is None


class TestJudgePart:
    def test_judge_rank_comes_after_the_check(self) -> None:
        judged_best_failed = Outcome(0, "succeeded", False, 1, 0.0, 1.0, judge_rank=1)
        passed_judged_worse = Outcome(1, "succeeded", True, 1, 9.0, 90.0, judge_rank=3)
        assert ids(rank([judged_best_failed, passed_judged_worse])) == [1, 0]

    def test_judge_rank_beats_diff_cost_and_time(self) -> None:
        first = Outcome(5, "succeeded", True, 0, 9.0, 90.0, judge_rank=1)
        second = Outcome(0, "succeeded", True, 3, 0.0, 1.0, judge_rank=2)
        unscored = Outcome(1, "cancelled", True, 3, 0.0, 0.5)  # not scored: keeps the part
        assert ids(rank([unscored, second, first])) == [5, 0]
        # The judge's favourite made no change: it cannot win; the next qualifying one does.
        winner = choose_winner([unscored, second, first])
        assert winner is not None and winner.variation_id == 0

    def test_one_unjudged_scored_variation_drops_the_judge_part_for_all(self) -> None:
        # E.g. a synthesized variation the judge was not asked about again.
        first = Outcome(5, "succeeded", True, 0, 9.0, 90.0, judge_rank=1)
        second = Outcome(0, "succeeded", True, 3, 0.02, 1.0, judge_rank=2)
        unjudged = Outcome(1, "succeeded", True, 3, 0.01, 0.5)
        ranked = rank([unjudged, second, first])
        assert ids(ranked) == [1, 0, 5]  # by diff, then cost, as without a judge
        assert all(o.judge_rank is None for o in ranked)
        assert all("judge_rank" not in score_parts(o, 1, 3) for o in ranked)
        winner = choose_winner([unjudged, second, first])
        assert winner is not None and winner.variation_id == 1

    def test_parts_name_the_judge_only_when_it_ranked(self) -> None:
        judged = score_parts(Outcome(0, "succeeded", True, 1, 0.1, 1.0, judge_rank=2), 1, 2)
        assert judged["judge_rank"] == 2
        assert judged["policy"].startswith("check_passed > judge_rank > non_empty_diff")
        plain = score_parts(outcome(1), 2, 2)
        assert "judge_rank" not in plain
        assert plain["policy"].startswith("check_passed > non_empty_diff")


class TestScoreParts:
    def test_parts_say_why(self) -> None:
        o = outcome(2, check=True, files=3, cost=0.1234567, duration=4.5)
        parts = score_parts(o, 1, 3)
        assert parts["check_passed"] is True and parts["has_diff"] is True
        assert parts["cost_usd"] == 0.123457 and parts["duration_seconds"] == 4.5
        assert (parts["rank"], parts["of"], parts["points"]) == (1, 3, 3.0)
        assert parts["qualifies"] is True
        assert parts["policy"].startswith("check_passed > non_empty_diff")

    def test_points(self) -> None:
        assert score_value(outcome(0, check=True, files=1)) == 3.0
        assert score_value(outcome(0, check=True, files=0)) == 2.0
        assert score_value(outcome(0, check=False, files=1)) == 1.0
        assert score_value(outcome(0, check=None, files=0)) == 0.0


_costs = st.sampled_from([0.0, 0.01, 0.0100001, 0.02, 1.5])
_durations = st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 30.0]))
# The judge's ranks, with ties and gaps (a judge may rank badly) and unranked variations.
_judge_ranks = st.one_of(st.none(), st.integers(1, 4))


@st.composite
def fields(draw: st.DrawFn) -> list[Outcome]:
    """Small fields with many ties (few distinct values), unique variation ids."""
    vids = draw(st.lists(st.integers(0, 40), min_size=1, max_size=8, unique=True))
    return [
        Outcome(
            vid,
            draw(st.sampled_from(["succeeded", "failed", "timed_out", "cancelled"])),
            draw(st.sampled_from([True, False, None])),
            draw(st.sampled_from([0, 1, 4])),
            draw(_costs),
            draw(_durations),
            judge_rank=draw(_judge_ranks),
        )
        for vid in vids
    ]


@settings(deadline=None)  # a shared, loaded machine: time is not what is tested
@given(fields(), st.randoms(use_true_random=False))
def test_order_and_winner_never_depend_on_input_order(
    field: list[Outcome], rnd: random.Random
) -> None:
    shuffled = list(field)
    rnd.shuffle(shuffled)
    assert rank(shuffled) == rank(field)
    assert choose_winner(shuffled) == choose_winner(field)


@settings(deadline=None)
@given(fields())
def test_policy_is_a_strict_total_order(field: list[Outcome]) -> None:
    keys = [sort_key(o) for o in field]
    assert len(set(keys)) == len(keys)  # distinct variations never compare equal
    for a in field:
        for b in field:
            for c in field:
                if sort_key(a) < sort_key(b) and sort_key(b) < sort_key(c):
                    assert sort_key(a) < sort_key(c)
            if a is not b:
                assert (sort_key(a) < sort_key(b)) != (sort_key(b) < sort_key(a))


@settings(deadline=None)
@given(fields(), st.randoms(use_true_random=False))
def test_judge_part_counts_only_when_every_scored_variation_has_one(
    field: list[Outcome], rnd: random.Random
) -> None:
    ranked = rank(field)
    complete = all(o.judge_rank is not None for o in ranked)
    stripped = [dataclasses.replace(o, judge_rank=None) for o in field]
    if complete:
        by_id = {o.variation_id: o for o in field}
        assert all(o == by_id[o.variation_id] for o in ranked)
    else:  # ranked as if no judge had spoken, and still independent of input order
        assert ranked == rank(stripped)
        shuffled = list(field)
        rnd.shuffle(shuffled)
        assert rank(shuffled) == ranked
    keys = [sort_key(o) for o in ranked]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


@settings(deadline=None)
@given(fields())
def test_winner_is_never_beaten_by_a_qualifying_variation(field: list[Outcome]) -> None:
    winner = choose_winner(field)
    ranked = rank(field)
    if winner is None:
        assert not any(qualifies(o) for o in ranked)
        return
    assert qualifies(winner)
    better = ranked[: ranked.index(winner)]
    assert not any(qualifies(o) for o in better)


async def test_best_score_records_the_policy_winner(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    """Through the server: scores stored, the best qualifying variation recorded at run end."""
    body = {
        "repo_url": str(git_repo),
        "prompt": "make ok exist",
        "variations": [
            command_spec("echo wrong > other.txt"),  # a change, check fails
            command_spec("echo ok > ok"),  # a change, check passes
            command_spec("true"),  # no change, check fails
        ],
        "check_command": "test -f ok",
        "winner_policy": "best_score",
    }
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run = await wait_finished(client, res.json()["run_id"])
    assert run["status"] == "succeeded"
    assert (run["winning_variation_id"], run["winner_selected_by"]) == (1, "policy")
    assert "check passed" in run["winner_reason"]
    by_id = {v["variation_id"]: v for v in run["variations"]}
    assert [by_id[i]["score_parts"]["rank"] for i in (1, 0, 2)] == [1, 2, 3]
    assert [by_id[i]["score"] for i in (0, 1, 2)] == [1.0, 3.0, 0.0]


async def test_best_score_names_no_winner_when_nothing_qualifies(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "make ok exist",
        "variations": [command_spec("echo wrong > other.txt"), command_spec("true")],
        "check_command": "test -f ok",
        "winner_policy": "best_score",
    }
    res = await client.post("/api/v1/runs", json=body)
    run = await wait_finished(client, res.json()["run_id"])
    assert run["status"] == "succeeded"
    assert run["winning_variation_id"] is None and run["winner_selected_by"] is None
    assert run["variations"][0]["score_parts"]["qualifies"] is False


async def test_manual_policy_records_no_winner(client: httpx.AsyncClient, git_repo: Path) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "make ok exist",
        "variations": [command_spec("echo ok > ok")],
        "check_command": "test -f ok",
    }
    res = await client.post("/api/v1/runs", json=body)
    run = await wait_finished(client, res.json()["run_id"])
    assert run["winner_policy"] == "manual" and run["winning_variation_id"] is None
    assert run["variations"][0]["score"] == 3.0


def test_failures_before_any_result_are_not_ranked() -> None:
    field = [
        Outcome(0, "failed", None, 0, 0.0, None, has_result=False),
        outcome(1, check=False),
        outcome(2, status="failed", files=0),
    ]
    assert ids(rank(field)) == [1, 2]
    assert choose_winner([field[0]]) is None
