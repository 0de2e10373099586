"""Early stop: one fast pass ends the run; the others are cancelled with reason and partial diff."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from app.models import Variation
from app.runs import early_stop
from tests.conftest import command_spec, wait_finished

RUNS = "/api/v1/runs"
SLEEP_MARK = "600.4217"  # a sleep only these agents run, to find leftover processes


def _processes_with(mark: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if mark in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


async def test_first_pass_cancels_the_sleepers(
    client: httpx.AsyncClient, git_repo: Path, tmp_path: Path
) -> None:
    marks = tmp_path / "started"
    marks.mkdir()
    # The sleepers write a file, say they started, then sleep for minutes; the fast one
    # passes only once both have started, so both have a partial change to keep.
    sleeper = f"echo wip > wip$N.txt && touch {marks}/$N && exec sleep {SLEEP_MARK}"
    fast = f"while [ $(ls {marks} | wc -l) -lt 2 ]; do sleep 0.05; done; touch ok"
    body = {
        "repo_url": str(git_repo),
        "prompt": "make ok",
        "variations": [
            command_spec(sleeper.replace("$N", "1")),
            command_spec(fast),
            command_spec(sleeper.replace("$N", "2")),
        ],
        "check_command": "test -f ok",
        "early_stop": "first_pass",
        "timeout_seconds": 900,
    }
    res = await client.post(RUNS, json=body)
    assert res.status_code == 202, res.text
    run_id = res.json()["run_id"]
    run = await wait_finished(client, run_id, timeout=90)  # the sleepers alone take 10 min
    assert run["status"] == "succeeded", run
    fast_v, *sleepers = (run["variations"][i] for i in (1, 0, 2))
    assert fast_v["status"] == "succeeded" and fast_v["check"]["passed"] is True
    for n, v in zip((1, 2), sleepers, strict=True):
        assert v["status"] == "cancelled", v
        assert v["error"] == "stopped early: variation 1 passed"
        assert v["score"] is None, "a stopped variation is not ranked"
        assert v["diff_stats"] == {"files": 1, "insertions": 1, "deletions": 0}
        diff = await client.get(f"{RUNS}/{run_id}/variations/{v['variation_id']}/diff")
        assert f"+++ b/wip{n}.txt" in diff.text and "+wip" in diff.text
        assert v["duration_seconds"] is not None and v["finished_at"] is not None
    assert run["early_stop"] == {
        "passing": 1,
        "stopped_variation_ids": [0, 2],
        "reason": "stopped early: variation 1 passed",
        "saved_usd": 0.0,  # command agents spend nothing
    }
    await asyncio.sleep(0.2)
    assert _processes_with(SLEEP_MARK) == []


async def test_never_is_the_default(client: httpx.AsyncClient, git_repo: Path) -> None:
    body = {
        "repo_url": str(git_repo),
        "prompt": "p",
        "variations": [command_spec("touch ok"), command_spec("sleep 0.3; touch ok")],
        "check_command": "test -f ok",
    }
    res = await client.post(RUNS, json=body)
    run = await wait_finished(client, res.json()["run_id"])
    assert [v["status"] for v in run["variations"]] == ["succeeded", "succeeded"]
    assert run["early_stop"]["passing"] is None and run["early_stop"]["saved_usd"] is None


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"early_stop": "first_pass"}, "early_stop", "needs a check_command"),
        (
            {"early_stop": {"passing": 3}, "check_command": "true"},
            "early_stop.passing",
            "has 2 variations",
        ),
        ({"early_stop": {"passing": 0}, "check_command": "true"}, "early_stop", ""),
        ({"early_stop": "sometimes", "check_command": "true"}, "early_stop", ""),
    ],
)
async def test_settings_that_cannot_act_are_refused(
    client: httpx.AsyncClient, git_repo: Path, extra: dict[str, object], field: str, words: str
) -> None:
    body = {"repo_url": str(git_repo), "prompt": "p", "variations": 2, **extra}
    res = await client.post(RUNS, json=body)
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert field in str(error["details"]) and words in error["message"]


def _variation(vid: int, status: str, cost: float) -> Variation:
    return Variation(run_id="r", variation_id=vid, status=status, cost_usd=cost)


def test_saved_is_the_median_finished_cost_less_what_the_stopped_spent() -> None:
    variations = [
        _variation(0, "succeeded", 0.30),
        _variation(1, "failed", 0.10),
        _variation(2, "timed_out", 0.50),
        _variation(3, "cancelled", 0.05),
        _variation(4, "cancelled", 0.45),  # spent more than the median: saved nothing
    ]
    assert early_stop.saved_usd(variations, [3, 4]) == pytest.approx(0.25)
    assert early_stop.saved_usd(variations, []) is None
    assert early_stop.saved_usd([_variation(0, "cancelled", 0.1)], [0]) is None


def test_reason_names_every_passed_variation() -> None:
    assert early_stop.reason([2]) == "stopped early: variation 2 passed"
    assert early_stop.reason([0, 3]) == "stopped early: variations 0 and 3 passed"
    assert early_stop.reason([0, 1, 4]) == "stopped early: variations 0, 1 and 4 passed"


async def test_waits_for_k_passes_and_returns_none_when_nothing_is_left() -> None:
    async def ends(after: float, passed: bool) -> bool:
        await asyncio.sleep(after)
        return passed

    tasks = {
        0: asyncio.create_task(ends(0.01, True)),
        1: asyncio.create_task(ends(0.02, False)),
        2: asyncio.create_task(ends(0.03, True)),
        3: asyncio.create_task(ends(30, True)),
    }
    assert await early_stop.wait_for_passes(tasks, 2) == [0, 2]
    assert not tasks[3].done()
    tasks[3].cancel()
    alone = {0: asyncio.create_task(ends(0.01, True))}
    assert await early_stop.wait_for_passes(alone, 1) is None, "nothing left to stop"
    everyone = {0: asyncio.create_task(ends(0.01, False))}
    assert await early_stop.wait_for_passes(everyone, None) is None
