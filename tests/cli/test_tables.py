"""The score table fits the terminal without cutting the model name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from app.cli.tables import outcome_notes, score_table, winner_line
from app.schemas import RunRead

NOW = datetime(2026, 1, 2, tzinfo=UTC)
MODEL = "claude-sonnet-4-5-20250929-long-name"


def _variation(vid: int, **over: Any) -> dict[str, Any]:
    return {
        "variation_id": vid,
        "spec": {"model": MODEL},
        "status": "succeeded",
        "exit_code": 0,
        "error": None,
        "diff_stats": {"files": 12, "insertions": 1234, "deletions": 567},
        "check": {"exit_code": 0, "passed": True, "duration_seconds": 1.0, "output_tail": ""},
        "usage": {
            "input_tokens": 1_234_567,
            "output_tokens": 45_678,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
        "cost_usd": 12.3456,
        "duration_seconds": 1234.5,
        "score": 3.0,
        "score_parts": {"rank": vid + 1, "of": 2, "qualifies": True},
        "manifest": {},
        "started_at": NOW,
        "finished_at": NOW,
    } | over


def _run(variations: list[dict[str, Any]], **over: Any) -> RunRead:
    return RunRead.model_validate(
        {
            "id": "0123456789abcdef",
            "repo_url": "https://example.com/r",
            "ref": None,
            "base_sha": None,
            "prompt": "p",
            "status": "succeeded",
            "backend": "local",
            "error": None,
            "variation_count": len(variations),
            "cost_usd": 1.0,
            "check_command": "make test",
            "passed_count": 1,
            "scripted_model": False,
            "winner_policy": "manual",
            "winning_variation_id": None,
            "winner_selected_by": None,
            "winner_reason": None,
            "created_at": NOW,
            "started_at": NOW,
            "finished_at": NOW,
            "budget_usd": None,
            "timeout_seconds": 900.0,
            "setup_command": None,
            "network": "none",
            "image": None,
            "setup": {},
            "variations": variations,
        }
        | over
    )


def _render(run: RunRead, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(score_table(run, width))
    return console.export_text().splitlines()


def test_narrow_terminals_drop_columns_not_the_model_name() -> None:
    run = _run([_variation(0), _variation(1)])
    wide = _render(run, 160)
    assert any("tokens in/out" in line for line in wide)
    for width in (100, 80):
        lines = _render(run, width)
        assert all(len(line) <= width for line in lines), lines
        rows = [line for line in lines if MODEL in line]
        assert len(rows) == 2, lines  # the full name, one row per variation
        assert any("passed" in line for line in rows)


def test_suggested_pick_and_unranked_causes() -> None:
    cause = "clone failed: fatal: not found"
    run = _run(
        [
            _variation(0, score_parts={"rank": 1, "of": 1, "qualifies": True}),
            _variation(1, status="failed", score=None, score_parts={}, error=cause, check=None),
        ],
        check_command=None,
    )
    notes = [str(n) for n in outcome_notes(run)]
    assert f"variation 1 not ranked: {cause}" in notes
    assert any("ranking is by diff, cost and time only" in n for n in notes)
    assert "suggested: variation 0" in str(winner_line(run))


def test_early_stop_note_names_the_stopped_and_the_saving() -> None:
    run = _run(
        [
            _variation(0, score_parts={"rank": 1, "of": 1, "qualifies": True}),
            _variation(1, status="cancelled", score=None, score_parts={}, check=None),
        ],
        early_stop={
            "passing": 1,
            "stopped_variation_ids": [1],
            "reason": "stopped early: variation 0 passed",
            "saved_usd": 0.0312,
        },
    )
    notes = [str(n) for n in outcome_notes(run)]
    assert "stopped early: variation 0 passed: cancelled 1; saved about $0.0312" in notes
    assert not any("stopped early" in n for n in outcome_notes(_run([_variation(0)])))


def test_synthesized_variation_names_its_sources() -> None:
    synthesis = {
        "top": 2,
        "model": "scripted/synthesize-median",
        "status": "started",
        "reason": None,
        "variation_id": 2,
        "synthesized_from": [1, 0],
    }
    run = _run(
        [
            _variation(0),
            _variation(1),
            _variation(2, spec={"model": "scripted/synthesize-median"}, synthesized_from=[1, 0]),
        ],
        synthesis=synthesis,
    )
    assert "variation 2 synthesized from variations 1 and 0" in [str(n) for n in outcome_notes(run)]
    text = "\n".join(_render(run, 200))
    assert "scripted/synthesize-median ⇐ 1+0" in text


def test_skipped_synthesis_says_why() -> None:
    reason = "synthesis needs 2 variations with a non-empty diff; 1 has one"
    synthesis = {
        "top": 2,
        "model": "m",
        "status": "skipped",
        "reason": reason,
        "variation_id": None,
        "synthesized_from": [],
    }
    notes = [str(n) for n in outcome_notes(_run([_variation(0)], synthesis=synthesis))]
    assert f"synthesis skipped: {reason}" in notes
    assert not any("synthes" in str(n) for n in outcome_notes(_run([_variation(0)])))


def test_a_judge_whose_second_call_failed_says_so_beside_its_verdicts() -> None:
    said = {"rank": 1, "verdict": "strong", "rationale": "best"}
    error = "second call (after synthesis) skipped: budget: run budget 0.01 USD spent"
    judge = {"model": "scripted/judge", "status": "ok", "cost_usd": 0.0044, "calls": 2}
    run = _run([_variation(0, judge=said), _variation(1)], judge=judge | {"error": error})
    notes = [str(n) for n in outcome_notes(run)]
    assert f"  {error}" in notes
    assert "  #1 variation 0 strong: best" in notes
    clean = _run([_variation(0, judge=said)], judge=judge | {"error": None, "calls": 1})
    assert not any("second call" in str(n) for n in outcome_notes(clean))
