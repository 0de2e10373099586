"""report.json (schema v1), report.md and the report directory, from hand-built runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.reports import (
    SCHEMA_VERSION,
    build_report,
    render_markdown,
    run_outcome,
    variation_label,
    write_report,
)
from app.schemas import RunRead

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _variation(vid: int, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "variation_id": vid,
        "spec": {"agent": "claude-code", "model": f"model-{vid}"},
        "status": "succeeded",
        "exit_code": 0,
        "error": None,
        "diff_stats": {"files": 1, "insertions": 2, "deletions": 1},
        "check": {"exit_code": 1, "passed": False, "duration_seconds": 0.5, "output_tail": "F"},
        "usage": {
            "input_tokens": 1000,
            "output_tokens": 50,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
        "cost_usd": 0.0123,
        "duration_seconds": 4.25,
        "score": 1.0,
        "score_parts": {"rank": vid + 1, "of": 2},
        "manifest": {"base_sha": "b" * 40, "model": f"model-{vid}"},
        "started_at": NOW,
        "finished_at": NOW,
    }
    return base | over


def _run(variations: list[dict[str, Any]], **over: Any) -> RunRead:
    base: dict[str, Any] = {
        "id": "run-1",
        "repo_url": "https://example.com/r.git",
        "ref": None,
        "base_sha": "b" * 40,
        "prompt": "Fix | the\nbug",
        "status": "succeeded",
        "backend": "local",
        "error": None,
        "variation_count": len(variations),
        "cost_usd": 0.0246,
        "scripted_model": False,
        "winner_policy": "best_score",
        "winning_variation_id": None,
        "winner_selected_by": None,
        "winner_reason": None,
        "created_at": NOW,
        "started_at": NOW,
        "finished_at": NOW,
        "check_command": "make test",
        "passed_count": 0,
        "budget_usd": None,
        "timeout_seconds": 900.0,
        "setup_command": None,
        "network": "none",
        "image": None,
        "setup": {},
        "variations": variations,
    }
    return RunRead.model_validate(base | over)


PASSED = {"exit_code": 0, "passed": True, "duration_seconds": 0.4, "output_tail": "ok"}


class TestOutcome:
    def test_passed_when_a_check_passed(self) -> None:
        assert run_outcome(_run([_variation(0), _variation(1, check=PASSED)])) == "passed"

    def test_failed_when_none_passed(self) -> None:
        assert run_outcome(_run([_variation(0), _variation(1)])) == "failed"

    def test_without_check_a_successful_change_passes(self) -> None:
        run = _run([_variation(0, check=None)], check_command=None)
        assert run_outcome(run) == "passed"
        empty = _variation(0, check=None, diff_stats={"files": 0, "insertions": 0, "deletions": 0})
        assert run_outcome(_run([empty], check_command=None)) == "failed"

    @pytest.mark.parametrize("status", ["cancelled", "interrupted"])
    def test_stopped_runs_are_errors(self, status: str) -> None:
        assert run_outcome(_run([_variation(0)], status=status)) == "error"

    def test_failing_before_any_agent_result_is_an_error(self) -> None:
        never_ran = _variation(0, status="failed", exit_code=None, check=None, diff_stats=None)
        run = _run([never_ran], status="failed", error="clone failed")
        assert run_outcome(run) == "error"
        ran = _variation(0, status="failed", exit_code=1, check=None)
        assert run_outcome(_run([ran], status="failed")) == "failed"


def test_report_object() -> None:
    run = _run(
        [_variation(0), _variation(1, check=PASSED)],
        winning_variation_id=1,
        winner_selected_by="user",
        winner_reason="cleaner",
    )
    report = build_report(run, with_transcripts=True)
    assert report["schema_version"] == SCHEMA_VERSION == 1
    assert report["outcome"] == "passed"
    assert report["repo"] == {"url": run.repo_url, "ref": None, "base_sha": "b" * 40}
    assert report["winner"] == {
        "variation_id": 1,
        "model": "model-1",
        "selected_by": "user",
        "reason": "cleaner",
    }
    first = report["variations"][0]
    assert first["patch"] == "variation-0.patch" and first["transcript"] == "variation-0.jsonl"
    # Ranks and scores come from the one policy: the passed check ranks first.
    assert first["rank"] == 2 and first["passed"] is False and first["score"] == 1.0
    second = report["variations"][1]
    assert second["rank"] == 1 and second["score"] == 3.0 and second["passed"] is True
    assert second["score_parts"]["qualifies"] is True and second["score_parts"]["of"] == 2
    assert first["manifest"]["base_sha"] == "b" * 40
    assert report["run"]["created_at"] == NOW.isoformat()
    json.dumps(report)  # serializable as is


def test_markdown_escapes_and_fences() -> None:
    patch = "diff --git a/x b/x\n+```\n+| pipe\n"
    run = _run(
        [_variation(0, spec={"agent": "command", "command": ["sh", "-c", "a|b"]})],
        winning_variation_id=0,
        winner_selected_by="policy",
        winner_reason="top score of 1: changed the code (no check ran)",
    )
    md = render_markdown(build_report(run), patch)
    assert md.startswith("## AIdeator comparison\n")
    assert "`command: sh -c a\\|b`" in md  # a pipe would break the table
    assert "> Fix | the\n> bug" in md
    assert "````diff\n" + patch.rstrip("\n") + "\n````" in md  # a longer fence than inside
    row = next(line for line in md.splitlines() if line.startswith("| 🏆"))
    assert row.count(" | ") == 10  # 11 cells, no broken columns


def test_variation_label() -> None:
    assert variation_label({"model": "claude-sonnet-4-5"}) == "claude-sonnet-4-5"
    assert variation_label({}) == "claude-code"
    long = variation_label({"agent": "command", "command": ["python", "-c", "x" * 80]})
    assert long.startswith("command: python -c x") and long.endswith("…") and len(long) == 49


def test_write_report_directory(tmp_path: Path) -> None:
    run = _run([_variation(0), _variation(1, check=PASSED)], winning_variation_id=1)
    diffs = {0: "diff --git a/a b/a\r\n-x\r\n+y\r\n", 1: ""}
    transcripts = {0: [{"type": "log", "text": "hi"}], 1: []}
    report = write_report(tmp_path / "out", run, diffs, transcripts)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "report.json",
        "report.md",
        "variation-0.jsonl",
        "variation-0.patch",
        "variation-1.jsonl",
        "variation-1.patch",
    ]
    assert (out / "variation-0.patch").read_bytes() == diffs[0].encode()  # byte-exact
    assert (out / "variation-1.patch").read_text() == ""
    assert json.loads((out / "variation-0.jsonl").read_text()) == {"type": "log", "text": "hi"}
    assert json.loads((out / "report.json").read_text()) == report
    assert "Winner: variation 1" in (out / "report.md").read_text()


def test_markdown_names_the_cause_of_a_failure_before_any_result() -> None:
    cause = "clone of https://example.com/r.git failed: fatal: repository not found\nmore"
    never_ran = [
        _variation(v, status="failed", exit_code=None, check=None, diff_stats=None, error=cause)
        | {"score": None, "score_parts": {}}
        for v in range(2)
    ]
    run = _run(never_ran, status="failed", error=cause, base_sha=None)
    md = render_markdown(build_report(run))
    assert (
        "**Run error:** clone of https://example.com/r.git failed: fatal: repository not found"
        in md
    )
    assert "more" not in md.split("**Run error:**")[1].splitlines()[0]
    rows = [line for line in md.splitlines() if line.startswith("|  | - |")]
    assert len(rows) == 2 and all("not run: clone of" in row for row in rows)


def test_markdown_says_when_no_check_ran() -> None:
    with_check = render_markdown(build_report(_run([_variation(0)])))
    without = render_markdown(build_report(_run([_variation(0)], check_command=None)))
    assert "No check command" not in with_check
    assert "ranking is by diff, cost and time only" in without
    assert "looks like it runs" not in without
    suggested = _run([_variation(0)], check_command=None, suggested_check_command="cargo test")
    md = render_markdown(build_report(suggested))
    assert "This repository looks like it runs `cargo test`" in md
    assert build_report(suggested)["run"]["suggested_check_command"] == "cargo test"
