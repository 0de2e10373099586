"""`--synthesize K` / `--synthesis-model` through `aideator compare` and `run`: the lineage."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.cli.cli_runner import CHECK, PROMPT, aideator
from tests.server_process import ServerProcess

SYNTH = "scripted/synthesize-median"


def test_compare_judges_then_synthesizes_and_reports_the_lineage(
    server: ServerProcess, shared_repo: Path, tmp_path: Path
) -> None:
    res = aideator(
        "compare",
        "--server",
        server.url,
        "--repo",
        str(shared_repo),
        "--prompt",
        PROMPT,
        "-m",
        "scripted/fix-correct",
        "-m",
        "scripted/fix-alt",
        "--check",
        CHECK,
        "--synthesize",
        "2",
        "--synthesis-model",
        SYNTH,
        "--judge",
        "scripted/judge",
        "--judge-instructions",
        "Prefer the smaller change.",
        "-o",
        str(tmp_path / "out"),
        cwd=tmp_path,
        timeout=240,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    by_id = {v["variation_id"]: v for v in report["variations"]}
    assert sorted(by_id) == [0, 1, 2]
    assert sorted(by_id[2]["synthesized_from"]) == [0, 1]
    assert by_id[2]["model"] == SYNTH and by_id[2]["passed"] is True
    assert by_id[0]["synthesized_from"] is None
    assert report["run"]["synthesis"]["status"] == "started"
    assert (
        "+    def test_agrees_with_statistics_median"
        in (tmp_path / "out" / "variation-2.patch").read_text()
    )
    ids = " and ".join(str(n) for n in by_id[2]["synthesized_from"])
    assert f"variation 2 synthesized from variations {ids}" in res.stdout
    assert "(synthesized from" in (tmp_path / "out" / "report.md").read_text()
    run = httpx.get(f"{server.url}/api/v1/runs/{report['run']['id']}").json()
    assert run["variations"][2]["synthesized_from"] == by_id[2]["synthesized_from"]
    # The judge ran first (both passed the check, so its rank orders them), then once more
    # after synthesis over all three; the scripted judge's fixed rule (highest id first)
    # keeps 0 and 1 in the order the first call gave them.
    assert run["judge"]["status"] == "ok", run["judge"]
    assert run["judge"]["calls"] == 2
    judged = {v["variation_id"]: v["judge"] for v in run["variations"]}
    assert judged[2] is not None and judged[2]["rank"] == 1
    by_rank = sorted((0, 1), key=lambda n: judged[n]["rank"])
    assert by_id[2]["synthesized_from"] == by_rank == [1, 0]


def test_run_refuses_synthesize_below_two(tmp_path: Path) -> None:
    res = aideator("run", "--repo", ".", "--prompt", "p", "--synthesize", "1", cwd=tmp_path)
    assert res.returncode == 2
    assert "--synthesize" in res.stderr and "Traceback" not in res.stderr


def test_run_with_more_top_than_variations_is_a_clear_error(
    server: ServerProcess, shared_repo: Path, tmp_path: Path
) -> None:
    res = aideator(
        "run",
        "--server",
        server.url,
        "--repo",
        str(shared_repo),
        "--prompt",
        PROMPT,
        "-n",
        "2",
        "--synthesize",
        "3",
        cwd=tmp_path,
    )
    assert res.returncode == 2, res.stdout
    assert "synthesize.top is 3 but the run has 2 variations" in res.stderr
    assert "Traceback" not in res.stderr
