"""`compare`'s early stop, synthesis and judge arguments, run offline (no engine).

Like test_functions_wiring.py, the engine reads are replaced with fixed answers: these tests
prove the module's own logic and wiring (who is stopped, which diffs reach the synthesized
agent's spec, what the report says), not that an engine runs it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aideator_dagger import main
from aideator_dagger.report import CheckOutcome
from dagger_chain import calls, spec_file
from test_functions_wiring import engine_reads, written_patch

import dagger
from dagger import dag

__all__ = ["engine_reads"]  # the fixture, shared with test_functions_wiring.py

CHECK = "python3 -m unittest -q"
PATCHES = {
    "scripted/fix-correct": "diff --git a/m.py b/m.py\n+FIX-CORRECT\n",
    "scripted/fix-alt": "diff --git a/m.py b/m.py\n+FIX-ALT\n",
    "scripted/fix-bad": "diff --git a/m.py b/m.py\n+FIX-BAD\n",
    "scripted/no-change": "",
    "scripted/synthesize-median": "diff --git a/m.py b/m.py\n+FIX-CORRECT\n+FIX-ALT\n",
}
SLOW = {"scripted/fix-bad", "scripted/no-change"}  # with `slow`: they take minutes


def _transcript(model: str) -> str:
    result = {
        "exit_code": 0,
        "diff": PATCHES[model],
        "diff_stats": {"files": 1 if PATCHES[model] else 0, "insertions": 1, "deletions": 0},
        "cost_usd": None,
        "duration_seconds": 2.0,
    }
    line = {"v": 1, "seq": 0, "type": "result", "text": "agent exited 0", "data": result}
    return json.dumps(line) + "\n"


class Engine:
    """Canned agent and check results; remembers every spec and patch it was given."""

    def __init__(self, slow: bool) -> None:
        self.slow = slow
        self.specs: list[dict[str, Any]] = []
        self.checked: list[str] = []
        self.cancelled: list[str] = []

    async def stdout_and_exit_code(self, ran: dagger.Container) -> tuple[str, int]:
        spec = json.loads(spec_file(ran))
        self.specs.append(spec)
        if self.slow and spec["model"] in SLOW:
            try:
                await asyncio.sleep(300)
            except asyncio.CancelledError:
                self.cancelled.append(spec["model"])
                raise
        return _transcript(spec["model"]), 0

    async def collect_check(self, checked: dagger.Container) -> CheckOutcome:
        patch = written_patch(checked)
        self.checked.append(patch)
        passed = "FIX-CORRECT" in patch or "FIX-ALT" in patch
        return CheckOutcome(exit_code=0 if passed else 1, output="ran\n")


def _engine(monkeypatch: pytest.MonkeyPatch, *, slow: bool = False) -> Engine:
    engine = Engine(slow)
    monkeypatch.setattr(main, "stdout_and_exit_code", engine.stdout_and_exit_code)
    monkeypatch.setattr(main, "collect_check", engine.collect_check)
    return engine


async def _compare(models: list[str], **extra: Any) -> tuple[dict[str, Any], dict[str, str]]:
    out = await main.Aideator().compare(
        agent_source=dag.directory(),
        repo_files=dag.directory(),
        prompt="fix the median",
        source=dag.directory(),
        models=models,
        scripted_model=True,
        **extra,
    )
    files = {c["path"]: c["contents"] for c in calls(out, "withNewFile")}
    return json.loads(files["report.json"]), files


async def test_first_pass_stops_waiting_for_the_others(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(monkeypatch, slow=True)
    report, _ = await asyncio.wait_for(
        _compare(
            ["scripted/fix-bad", "scripted/fix-correct", "scripted/no-change"],
            check_command=CHECK,
            early_stop="first_pass",
        ),
        timeout=30,
    )
    assert sorted(engine.cancelled) == sorted(SLOW)
    by_id = {v["variation_id"]: v for v in report["variations"]}
    for vid in (0, 2):
        assert by_id[vid]["status"] == "cancelled"
        assert by_id[vid]["error"] == "stopped early: variation 1 passed"
        assert by_id[vid]["rank"] is None and by_id[vid]["check"] is None
    assert by_id[1]["passed"] is True and report["winner"]["variation_id"] == 1
    assert report["run"]["early_stop"] == {
        "passing": 1,
        "stopped_variation_ids": [0, 2],
        "reason": "stopped early: variation 1 passed",
    }
    assert engine.checked == [PATCHES["scripted/fix-correct"]]  # only the one that finished


async def test_synthesis_gets_the_top_two_diffs_and_is_checked(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(monkeypatch)
    report, files = await _compare(
        ["scripted/fix-bad", "scripted/fix-correct", "scripted/fix-alt"],
        check_command=CHECK,
        synthesize_top=2,
        synthesis_model="scripted/synthesize-median",
    )
    (synth_spec,) = [s for s in engine.specs if s["model"] == "scripted/synthesize-median"]
    assert synth_spec["variation_id"] == 3
    prompt = synth_spec["prompt"]
    assert prompt.startswith("fix the median\n")
    assert PATCHES["scripted/fix-correct"] in prompt and PATCHES["scripted/fix-alt"] in prompt
    assert "FIX-BAD" not in prompt
    assert PATCHES["scripted/synthesize-median"] in engine.checked
    synth = report["variations"][3]
    assert sorted(synth["synthesized_from"]) == [1, 2]
    assert synth["passed"] is True and synth["model"] == "scripted/synthesize-median"
    assert files["variation-3.patch"] == PATCHES["scripted/synthesize-median"]
    assert report["run"]["synthesis"] == {
        "top": 2,
        "model": "scripted/synthesize-median",
        "status": "started",
        "reason": None,
        "variation_id": 3,
        "synthesized_from": synth["synthesized_from"],
    }
    assert "(synthesized from" in files["report.md"]


async def test_synthesis_skipped_with_too_few_diffs(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(monkeypatch)
    report, _ = await _compare(["scripted/fix-correct", "scripted/no-change"], synthesize_top=2)
    assert len(engine.specs) == 2 and len(report["variations"]) == 2
    synthesis = report["run"]["synthesis"]
    assert synthesis["status"] == "skipped"
    assert synthesis["reason"] == "synthesis needs 2 variations with a non-empty diff; 1 has one"
    assert synthesis["model"] == "scripted/fix-correct"  # the first variation's model


async def test_without_judge_or_synthesis_the_report_says_so(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine(monkeypatch)
    plain, _ = await _compare(["scripted/fix-correct"])
    assert plain["run"]["judge"] is None and "synthesis" not in plain["run"]
    assert plain["run"]["early_stop"]["passing"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"early_stop": "first_pass"}, "needs --check-command"),
        ({"early_stop": "sometimes", "check_command": CHECK}, "takes never, first_pass"),
        ({"early_stop": "4", "check_command": CHECK}, "there are 3 variations"),
        ({"synthesize_top": 1}, "--synthesize-top is 1"),
        ({"synthesize_top": 4}, "--synthesize-top is 4"),
    ],
)
async def test_bad_arguments_are_refused_before_any_build(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], message: str
) -> None:
    async def user(self: dagger.Container) -> str:
        raise AssertionError("the image was built before the arguments were checked")

    monkeypatch.setattr(dagger.Container, "user", user)
    with pytest.raises(ValueError, match=message):
        await _compare(["scripted/fix-correct", "scripted/fix-alt", "scripted/fix-bad"], **extra)
