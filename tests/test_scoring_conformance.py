"""One table of results, three judges: the server, the CLI's report and the Dagger module.

The server scores stored variations at run end (`app/runs/finalize.py`), `aideator compare`
writes report.json from the API view (`app/reports`), and `dagger call compare` builds its
report from what its containers returned (`aideator_dagger.report`). All three must rank
the same variations alike and crown the same winner, whatever the table holds.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aideator_scoring.markdown import render_markdown
from aideator_scoring.policy import choose_winner, rank
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import Run, Variation
from app.reports import build_report
from app.runs.finalize import outcome_of
from app.runs.views import run_read

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dagger" / "src"))
from aideator_dagger.report import CheckOutcome, VariationOutcome
from aideator_dagger.report import build_report as module_report

NOW = datetime(2026, 1, 1, tzinfo=UTC)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "exit_code": st.sampled_from([0, 0, 1]),
            "files": st.integers(0, 3),
            "check": st.sampled_from([None, 0, 1, 2]),
            "cost": st.sampled_from([0.0, 0.01, 0.02, 0.5]),
            "duration": st.sampled_from([None, 1.0, 2.5, 30.0]),
        }
    ),
    min_size=1,
    max_size=6,
)


def _server_rows(table: list[dict[str, Any]], check_command: str | None) -> list[Variation]:
    return [
        Variation(
            run_id="r",
            variation_id=vid,
            spec={"agent": "claude-code", "model": f"m{vid}"},
            status="succeeded" if row["exit_code"] == 0 else "failed",
            exit_code=row["exit_code"],
            files_changed=row["files"],
            insertions=row["files"],
            deletions=0,
            check_exit_code=row["check"] if check_command else None,
            check_output="out" if check_command and row["check"] is not None else None,
            cost_usd=row["cost"],
            duration_seconds=row["duration"],
        )
        for vid, row in enumerate(table)
    ]


def _module_outcomes(
    table: list[dict[str, Any]], check_command: str | None
) -> list[VariationOutcome]:
    outcomes = []
    for vid, row in enumerate(table):
        result = {
            "exit_code": row["exit_code"],
            "diff": "diff --git a/f b/f\n" * row["files"],
            "diff_stats": {"files": row["files"], "insertions": row["files"], "deletions": 0},
            "usage": {"input_tokens": 1, "output_tokens": 1},
            "cost_usd": row["cost"],
            "duration_seconds": row["duration"],
        }
        ran = check_command and row["check"] is not None
        check = CheckOutcome(row["check"], "out") if ran else None
        outcomes.append(VariationOutcome(vid, f"m{vid}", result, "", check))
    return outcomes


@settings(max_examples=150, deadline=None)
@given(rows, st.booleans())
def test_server_report_and_module_agree(table: list[dict[str, Any]], with_check: bool) -> None:
    check_command = "make test" if with_check else None
    variations = _server_rows(table, check_command)

    server = [outcome_of(v) for v in variations]
    server_ranks = [o.variation_id for o in rank(server)]
    server_winner = choose_winner(server)

    run = Run(
        id="r",
        repo_url="https://example.com/r.git",
        prompt="p",
        check_command=check_command,
        backend="local",
        status="succeeded",
        timeout_seconds=60.0,
        created_at=NOW,
    )
    report = build_report(run_read(run, variations))
    module = module_report(
        _module_outcomes(table, check_command),
        prompt="p",
        repo={"url": "u", "ref": "main", "base_sha": "s"},
        check_command=check_command or "",
    )
    for judged in (report, module):
        ranked = sorted(
            (v for v in judged["variations"] if v["rank"] is not None), key=lambda v: v["rank"]
        )
        assert [v["variation_id"] for v in ranked] == server_ranks
    assert [v["passed"] for v in report["variations"]] == [
        v["passed"] for v in module["variations"]
    ]
    assert [v["score"] for v in report["variations"]] == [v["score"] for v in module["variations"]]
    assert report["outcome"] == module["outcome"]
    module_winner = None if module["winner"] is None else module["winner"]["variation_id"]
    assert module_winner == (None if server_winner is None else server_winner.variation_id)


@settings(max_examples=100, deadline=None)
@given(rows, st.booleans(), st.randoms(use_true_random=False), st.booleans())
def test_server_and_report_agree_with_a_judge(
    table: list[dict[str, Any]], with_check: bool, shuffle: Any, one_unjudged: bool
) -> None:
    """With the judge's ranking stored on the run, the server and report.json rank alike.

    `one_unjudged`: the judge did not rank one variation (as when it was not asked again
    after synthesis); then neither ranks by the judge's part.
    """
    check_command = "make test" if with_check else None
    variations = _server_rows(table, check_command)
    order = [v.variation_id for v in variations]
    shuffle.shuffle(order)
    verdicts = {
        str(vid): {"rank": position, "verdict": "acceptable", "rationale": "r"}
        for position, vid in enumerate(order[:-1] if one_unjudged else order, start=1)
    }
    run = Run(
        id="r",
        repo_url="https://example.com/r.git",
        prompt="p",
        check_command=check_command,
        backend="local",
        status="succeeded",
        timeout_seconds=60.0,
        created_at=NOW,
        judge={"model": "m", "status": "ok", "error": None, "cost_usd": 0.1, "verdicts": verdicts},
    )
    judge_ranks = {int(vid): said["rank"] for vid, said in verdicts.items()}
    server = [outcome_of(v, judge_ranks) for v in variations]
    server_ranks = [o.variation_id for o in rank(server)]
    report = build_report(run_read(run, variations))
    ranked = sorted(
        (v for v in report["variations"] if v["rank"] is not None), key=lambda v: v["rank"]
    )
    assert [v["variation_id"] for v in ranked] == server_ranks
    scored = {o.variation_id for o in rank(server)}
    judge_counts = scored <= set(judge_ranks)
    if not judge_counts:  # ranked exactly as without a judge
        assert server_ranks == [o.variation_id for o in rank([outcome_of(v) for v in variations])]
    for v in report["variations"]:
        assert v["judge"] == verdicts.get(str(v["variation_id"]))
        if v["rank"] is not None and judge_counts:
            assert v["score_parts"]["judge_rank"] == v["judge"]["rank"]
        elif v["rank"] is not None:
            assert "judge_rank" not in v["score_parts"]
            assert not v["score_parts"]["policy"].startswith("check_passed > judge_rank")
    said = "Ranking: check passed, then the judge's rank, " in render_markdown(report)
    assert said == (judge_counts and bool(scored))  # report.md names the part only if it counted
    winner = choose_winner(server)
    assert report["run"]["judge"] == {
        "model": "m",
        "status": "ok",
        "error": None,
        "cost_usd": 0.1,
        "calls": 1,
    }
    assert report["run"]["cost_usd"] == round(sum(v.cost_usd for v in variations) + 0.1, 6)
    if winner is not None and judge_counts:  # among passed checks, the judge's order decides
        passed = [o for o in server if o.check_passed and o.diff_files > 0]
        if check_command and passed:
            assert (
                winner.variation_id
                == min(passed, key=lambda o: judge_ranks[o.variation_id]).variation_id
            )
