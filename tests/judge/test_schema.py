"""The judge's answer is validated strictly; diffs are cut fairly with a stated limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.judge.prompt import DIFF_BUDGET_CHARS, Candidate, clip_diff, diff_limit, user_message
from app.judge.schema import JudgeAnswerError, parse_answer, tool_definition
from app.scripted_model.judge import judge_reply, listed_ids

IDS = [0, 1, 3]


def _answer(ranking: list[Any], notes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if notes is None:
        notes = [{"variation_id": v, "verdict": "acceptable", "rationale": "ok"} for v in IDS]
    return {"ranking": ranking, "variations": notes}


def test_a_good_answer_gives_ranks_best_first() -> None:
    notes = [
        {"variation_id": 3, "verdict": "strong", "rationale": "  clean  "},
        {"variation_id": 0, "verdict": "weak", "rationale": "partial"},
        {"variation_id": 1, "verdict": "wrong", "rationale": "breaks it"},
    ]
    verdicts = parse_answer(_answer([3, 1, 0], notes), IDS)
    assert [(v.variation_id, v.rank, v.verdict) for v in verdicts] == [
        (3, 1, "strong"),
        (1, 2, "wrong"),
        (0, 3, "weak"),
    ]
    assert verdicts[0].as_dict() == {"rank": 1, "verdict": "strong", "rationale": "clean"}
    # A JSON string holding the same object is accepted too.
    assert parse_answer(json.dumps(_answer([3, 1, 0], notes)), IDS) == verdicts


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ('{"ranking": [0, 1', "invalid JSON"),
        ([0, 1, 3], "not an object"),
        (_answer([0, 1]), "missing [3]"),
        (_answer([0, 1, 3, 7]), "unknown [7]"),
        (_answer([0, 1, 1, 3]), "more than once"),
        (_answer([0, "1", 3]), "list of variation ids"),
        (_answer([0, True, 3]), "list of variation ids"),
        (_answer([0, 1, 3]) | {"extra": 1}, "unexpected fields: extra"),
        (_answer([0, 1, 3], []), "`variations`: missing [0, 1, 3]"),
        (
            _answer(
                [0, 1, 3],
                [{"variation_id": v, "verdict": "great", "rationale": "r"} for v in IDS],
            ),
            "is not one of",
        ),
        (
            _answer(
                [0, 1, 3], [{"variation_id": v, "verdict": "weak", "rationale": " "} for v in IDS]
            ),
            "rationale must be a non-empty string",
        ),
        (
            _answer(
                [0, 1, 3],
                [{"variation_id": 0, "verdict": "weak", "rationale": "r"}] * 3,
            ),
            "appears twice",
        ),
        (_answer([0, 1, 3], [{"variation_id": 0, "verdict": "weak"}]), "exactly variation_id"),
    ],
)
def test_a_bad_answer_is_refused_with_the_reason(answer: Any, says: str) -> None:
    with pytest.raises(JudgeAnswerError, match=None) as caught:
        parse_answer(answer, IDS)
    assert says in str(caught.value)


def test_the_tool_schema_lists_exactly_the_ids() -> None:
    tool = tool_definition(IDS)
    ranking = tool["input_schema"]["properties"]["ranking"]
    assert ranking["items"]["enum"] == IDS and ranking["minItems"] == ranking["maxItems"] == 3
    assert listed_ids(tool) == IDS
    reply = judge_reply("judge", {"tools": [tool]})
    block = reply.content[0]
    assert block["type"] == "tool_use" and block["name"] == "rank_variations"
    assert [v.variation_id for v in parse_answer(block["input"], IDS)] == [3, 1, 0]


def test_diffs_share_the_budget_equally_and_say_what_was_cut() -> None:
    assert diff_limit(4) == DIFF_BUDGET_CHARS // 4
    assert clip_diff("abc", 10) == "abc"
    cut = clip_diff("x" * 150, 100)
    assert cut.startswith("x" * 100) and "x" * 101 not in cut
    assert "50 more characters of this diff cut: the limit is 100 characters" in cut
    small, big = "+small change\n", "+" + "y" * (DIFF_BUDGET_CHARS * 2)
    candidates = [
        Candidate(n, f"m{n}", "succeeded", diff, "passed (exit 0)", "", "")
        for n, diff in enumerate((small, big))
    ]
    text = user_message("task", candidates, None)
    share = DIFF_BUDGET_CHARS // 2
    assert small in text, "a small diff is shown whole"
    assert "+" + "y" * (share - 1) in text and "y" * share not in text  # the first `share`
    assert f"{len(big) - share:,} more characters of this diff cut" in text
