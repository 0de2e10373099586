"""Report files, transcript parsing and lock-derived constraints of the Dagger module."""

from __future__ import annotations

import json
import tomllib

from aideator_dagger.lockfile import constraints_from_uv_lock
from aideator_dagger.report import CheckOutcome, VariationOutcome, build_report, render_markdown
from aideator_dagger.transcript import NO_RESULT_ERROR, final_result, find_result
from dagger_chain import REPO_ROOT


def outcome(
    vid: int, model: str, diff: str, check: int | None, cost: float | None
) -> VariationOutcome:
    result = {
        "exit_code": 0,
        "diff": diff,
        "diff_stats": {"files": 1 if diff else 0, "insertions": 2, "deletions": 1},
        "usage": {"input_tokens": 10, "output_tokens": 3},
        "cost_usd": cost,
        "duration_seconds": 4.25,
    }
    return VariationOutcome(
        vid, model, result, "", None if check is None else CheckOutcome(check, "x" * 5000)
    )


class TestReport:
    def test_schema_and_ranking(self) -> None:
        outcomes = [
            outcome(0, "m|pipe", "", 1, 0.01),
            outcome(1, "good", "diff --git a b\n", 0, 0.2),
            outcome(2, "bad", "diff --git a b\n", 1, 0.0),
        ]
        report = build_report(
            outcomes, prompt="p", repo={"url": "u", "ref": "r", "base_sha": "s"}, check_command="t"
        )
        assert report["schema_version"] == 1
        assert report["prompt_sha256"] != "p" and len(report["prompt_sha256"]) == 64
        assert report["winner"]["variation_id"] == 1 and report["winner"]["model"] == "good"
        by_id = {v["variation_id"]: v for v in report["variations"]}
        assert [by_id[i]["rank"] for i in range(3)] == [3, 1, 2]
        assert by_id[1]["patch"] == "variation-1.patch"
        assert by_id[1]["check"]["passed"] and not by_id[2]["check"]["passed"]
        assert len(by_id[0]["check"]["output_tail"]) == 4000
        json.dumps(report)  # serialisable as report.json

        assert report["outcome"] == "passed" and report["winner"]["selected_by"] == "policy"
        assert by_id[1]["score"] == 3.0 and by_id[1]["score_parts"]["qualifies"] is True

        md = render_markdown(report)
        assert "**Winner: variation 1** (`good`), picked by the score policy" in md
        row = "| 🏆 | 1 | 1 | `good` | succeeded | ✅ passed | 1 file, +2/-1 | 10 / 3 | $0.2000 |"
        assert row in md
        assert "`m\\|pipe`" in md and "no change" in md
        assert "Check: `t`" in md

    def test_no_winner(self) -> None:
        report = build_report(
            [outcome(0, "a", "", None, None)], prompt="p", repo={}, check_command=""
        )
        assert report["winner"] is None and report["check_command"] is None
        md = render_markdown(report)
        assert "**No winner recorded.**" in md and "| - |" in md  # no cost known


class TestTranscript:
    def test_last_result_line_wins(self) -> None:
        stdout = "\n".join(
            [
                '{"v":1,"seq":0,"type":"status","text":"starting"}',
                "not json",
                '{"v":1,"seq":1,"type":"result","data":{"exit_code":1,"diff":"a"}}',
                '{"v":1,"seq":2,"type":"result","data":{"exit_code":0,"diff":"b"}}',
                "",
            ]
        )
        assert find_result(stdout) == {"exit_code": 0, "diff": "b"}

    def test_missing_result_is_explained(self) -> None:
        result = final_result('{"v":1,"seq":0,"type":"status"}\n', 137)
        assert result["exit_code"] == 137 and result["error"] == NO_RESULT_ERROR
        assert result["diff"] == ""

    def test_result_without_exit_code_gets_the_container_s(self) -> None:
        result = final_result('{"v":1,"seq":0,"type":"result","data":{}}', 2)
        assert result["exit_code"] == 2 and result["diff"] == ""

    def test_shared_protocol_example_parses(self) -> None:
        examples = (REPO_ROOT / "docs" / "protocol-examples.jsonl").read_text()
        result = find_result(examples)
        assert result is not None and isinstance(result.get("exit_code"), int)


def test_constraints_pin_the_locked_versions() -> None:
    text = (REPO_ROOT / "uv.lock").read_text()
    locked = {p["name"]: p["version"] for p in tomllib.loads(text)["package"]}
    pins = dict(line.split("==") for line in constraints_from_uv_lock(text).splitlines())
    for name in ("starlette", "uvicorn", "structlog", "pydantic"):
        assert pins[name] == locked[name]
    assert "aideator" not in pins  # the project itself is not a registry package


def test_packages_locked_twice_are_left_unconstrained() -> None:
    lock = """
version = 1
[[package]]
name = "a"
version = "1.0"
source = { registry = "https://index.invalid/simple" }
[[package]]
name = "b"
version = "1.0"
source = { registry = "https://index.invalid/simple" }
[[package]]
name = "b"
version = "2.0"
source = { registry = "https://index.invalid/simple" }
"""
    assert constraints_from_uv_lock(lock) == "a==1.0\n"
