"""Synthesis: validation, fair diff truncation, the plan's prompt, skip with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.models import Run, Variation, utcnow
from app.runs import synthesis
from app.runs.finalize import outcome_of
from tests.conftest import command_spec, wait_finished

RUNS = "/api/v1/runs"


def _run(**synth: Any) -> Run:
    return Run(
        id="r",
        repo_url="file:///x",
        prompt="Make it better.",
        backend="process",
        status="running",
        timeout_seconds=60,
        created_at=utcnow(),
        synthesis={"top": 2, "model": "scripted/synthesize-median"} | synth,
    )


def _variation(vid: int, diff: str, *, passed: bool, cost: float = 0.0) -> Variation:
    return Variation(
        run_id="r",
        variation_id=vid,
        status="succeeded",
        diff=diff,
        files_changed=1 if diff else 0,
        insertions=diff.count("\n+"),
        deletions=0,
        check_exit_code=0 if passed else 1,
        check_output="",
        cost_usd=cost,
        duration_seconds=1.0,
    )


def _plan(run: Run, variations: list[Variation]) -> synthesis.Plan | str:
    return synthesis.plan(run, variations, [outcome_of(v) for v in variations])


@pytest.mark.parametrize(
    ("lengths", "limit", "expected"),
    [
        ([10, 20], 100, [10, 20]),  # everything fits
        ([10, 500], 100, [10, 90]),  # the short one leaves its share to the long one
        ([500, 500], 100, [50, 50]),  # equal shares
        ([30, 500, 500], 100, [30, 35, 35]),
        ([], 100, []),
    ],
)
def test_fair_shares(lengths: list[int], limit: int, expected: list[int]) -> None:
    shares = synthesis.fair_shares(lengths, limit)
    assert shares == expected
    assert sum(shares) <= limit
    assert all(s <= n for s, n in zip(shares, lengths, strict=True))


def test_plan_takes_the_best_ranked_diffs_and_states_the_limit() -> None:
    variations = [
        _variation(0, "diff --git a/bad\n+bad\n", passed=False),
        _variation(1, "diff --git a/one\n+one\n", passed=True, cost=0.2),
        _variation(2, "diff --git a/two\n+two\n", passed=True, cost=0.1),
        _variation(3, "", passed=True),
    ]
    found = _plan(_run(), variations)
    assert isinstance(found, synthesis.Plan)
    assert found.from_ids == [2, 1]  # both passed; the cheaper one ranks first
    assert found.prompt.startswith("Make it better.\n")
    assert "+one" in found.prompt and "+two" in found.prompt and "+bad" not in found.prompt
    assert f"at most {synthesis.DIFF_LIMIT_CHARS} characters" in found.prompt
    assert found.prompt.index("+two") < found.prompt.index("+one")


def test_plan_cuts_long_diffs_fairly() -> None:
    long_diff = "diff --git a/big\n" + "+x\n" * 40_000  # 120,017 characters
    short = "diff --git a/small\n+small\n"
    found = _plan(
        _run(), [_variation(0, long_diff, passed=True), _variation(1, short, passed=True)]
    )
    assert isinstance(found, synthesis.Plan)
    kept = synthesis.DIFF_LIMIT_CHARS - len(short)
    assert short in found.prompt
    assert f"[... diff cut: {kept} of {len(long_diff)} characters shown]" in found.prompt
    assert len(found.prompt) < synthesis.DIFF_LIMIT_CHARS + 2_000


def test_plan_skips_without_enough_diffs_or_budget() -> None:
    variations = [_variation(0, "+a\n", passed=True), _variation(1, "", passed=True)]
    assert _plan(_run(), variations) == (
        "synthesis needs 2 variations with a non-empty diff; 1 has one"
    )
    spent = [_variation(0, "+a\n", passed=True, cost=0.3), _variation(1, "+b\n", passed=True)]
    run = _run()
    run.budget_usd = 0.25
    assert _plan(run, spent) == "the run's budget of $0.25 is spent"


@pytest.mark.parametrize(
    ("synthesize", "variations", "field"),
    [
        ({"top": 3}, 2, "synthesize.top"),
        ({"top": 2}, 1, "synthesize.top"),
        ({"top": 1}, 2, "top"),
        ({"top": 2, "model": "scripted/no-such-scenario"}, 2, "synthesize.model"),
        ({"top": 2, "extra": 1}, 2, "extra"),
    ],
)
async def test_bad_settings_are_422(
    client: httpx.AsyncClient,
    git_repo: Path,
    synthesize: dict[str, Any],
    variations: int,
    field: str,
) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "p",
        "variations": variations,
        "synthesize": synthesize,
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 422, res.text
    assert field in res.text


async def test_fewer_diffs_than_top_is_skipped_with_the_reason(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "p",
        "variations": [command_spec("echo one > one.txt"), command_spec("true")],
        "check_command": "true",
        "synthesize": {"top": 2},
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run = await wait_finished(client, res.json()["run_id"], timeout=60)
    assert run["status"] == "succeeded", run
    assert [v["variation_id"] for v in run["variations"]] == [0, 1]  # no third variation
    assert run["synthesis"]["status"] == "skipped"
    assert run["synthesis"]["reason"] == (
        "synthesis needs 2 variations with a non-empty diff; 1 has one"
    )
    assert run["synthesis"]["variation_id"] is None
    assert run["synthesis"]["model"] == "scripted/fix-correct"  # the server's default


async def test_without_synthesize_the_run_reads_null(
    client: httpx.AsyncClient, git_repo: Path
) -> None:
    body = {"repo_url": str(git_repo), "prompt": "p", "variations": [command_spec("true")]}
    res = await client.post(RUNS, json=body)
    run = await wait_finished(client, res.json()["run_id"], timeout=60)
    assert run["synthesis"] is None
    assert run["variations"][0]["synthesized_from"] is None
