"""The judge's verdicts in the CLI table (`compare`, `runs show`), both report files and
`export-preferences`, from a real server with the scripted judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.cli_runner import aideator, clean_env
from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e

SPEC = """\
repo_url: {repo}
prompt: write a file named judged.txt
check_command: test -f judged.txt
winner_policy: best_score
judge:
  model: scripted/judge
  instructions: Prefer the shortest file.
variations:
  - {{agent: command, command: [sh, -c, "echo zero > judged.txt"]}}
  - {{agent: command, command: [sh, -c, "echo one one > judged.txt"]}}
  - {{agent: command, command: [sh, -c, "echo two two two > judged.txt"]}}
"""


def _assert_verdicts_printed(stdout: str, verdicts: dict[int, dict[str, object]]) -> None:
    for vid, said in verdicts.items():
        # the table's judge column, and the rationale line under it
        assert f"{said['verdict']} #{said['rank']}" in stdout, stdout
        assert f"#{said['rank']} variation {vid} {said['verdict']}: {said['rationale']}" in stdout


def test_verdicts_in_the_table_reports_and_preferences(
    server: ServerProcess, shared_repo: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(repo=shared_repo))
    env = clean_env(COLUMNS="240")
    res = aideator(
        "compare", "--server", server.url, "--spec", str(spec), "--report-dir", "out",
        "--verbose", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "judge scripted/judge ok" in res.stdout  # the live line of the `judge` event
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    judge = report["run"]["judge"]
    assert judge["model"] == "scripted/judge" and judge["status"] == "ok", judge
    assert judge["cost_usd"] > 0 and report["run"]["cost_usd"] == judge["cost_usd"]
    verdicts = {v["variation_id"]: v["judge"] for v in report["variations"]}
    assert sorted(verdicts) == [0, 1, 2] and all(verdicts.values()), verdicts
    assert {vid: said["rank"] for vid, said in verdicts.items()} == {2: 1, 1: 2, 0: 3}
    for v in report["variations"]:
        assert v["score_parts"]["judge_rank"] == v["judge"]["rank"]
    _assert_verdicts_printed(res.stdout, verdicts)
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "**Judge** `scripted/judge`: ok" in markdown
    for vid, said in verdicts.items():
        line = (
            f"- variation {vid}: **{said['verdict']}** (judge rank {said['rank']}) — "
            f"{said['rationale']}"
        )
        assert line in markdown, markdown
    assert "Ranking: check passed, then the judge's rank, then" in markdown

    run_id = report["run"]["id"]
    shown = aideator("runs", "show", run_id, "--server", server.url, cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    _assert_verdicts_printed(shown.stdout, verdicts)

    exported = aideator("export-preferences", "--server", server.url, cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    mine = [r for r in records if r["run_id"] == run_id]
    assert len(mine) == 2, "the winner against each of the two others"
    for record in mine:
        assert record["judge"] == judge
        for side in ("chosen", "rejected"):
            assert record[side]["judge"] == verdicts[record[side]["variation_id"]]
    assert {r["chosen"]["variation_id"] for r in mine} == {2}
