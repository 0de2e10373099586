"""`aideator compare`: exit codes 0 / 1 / 2 and the report directory's contents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.cli_runner import CHECK, PROMPT, Compared, aideator, clean_env
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.e2e


def _one_error_line(stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    assert any(line.startswith("hint: ") for line in stderr.splitlines()), stderr


class TestPassing:
    def test_exit_0_when_a_variation_passes(self, compared: Compared) -> None:
        assert compared.result.returncode == 0, compared.result.stderr
        assert "passed: 1 of 3 variation(s) passed" in compared.result.stdout
        # No live noise without --verbose: no agent lines in the output.
        assert "│" not in compared.result.stdout

    def test_report_json(self, compared: Compared) -> None:
        report = compared.report
        assert report["schema_version"] == 1 and report["outcome"] == "passed"
        assert report["prompt"] == PROMPT and report["check_command"] == CHECK
        assert report["run"]["winner_policy"] == "best_score"
        assert report["run"]["scripted_model"] is True
        models = [v["model"] for v in report["variations"]]
        assert models == ["scripted/fix-bad", "scripted/fix-correct", "scripted/no-change"]
        assert [v["check"]["passed"] for v in report["variations"]] == [False, True, False]
        assert [v["rank"] for v in report["variations"]] == [2, 1, 3]
        assert report["winner"] == {
            "variation_id": 1,
            "model": "scripted/fix-correct",
            "selected_by": "policy",
            "reason": "top score of 3: check passed",
        }
        base_sha = report["repo"]["base_sha"]
        assert len(base_sha) == 40
        for v in report["variations"]:
            assert v["manifest"]["base_sha"] == base_sha
            assert v["manifest"]["model"] == v["model"]
            assert v["score_parts"]["policy"].startswith("check_passed")
            assert v["usage"]["output_tokens"] > 0 and v["cost_usd"] > 0

    def test_patches_and_transcripts(self, compared: Compared) -> None:
        out = compared.report_dir
        fix = (out / "variation-1.patch").read_text()
        assert "ordered[middle - 1]" in fix and fix.startswith("diff --git")
        assert "2.5" in (out / "variation-0.patch").read_text()
        assert (out / "variation-2.patch").read_text() == ""
        for v in compared.report["variations"]:
            lines = (out / v["transcript"]).read_text().splitlines()
            kinds = {json.loads(line)["type"] for line in lines}
            assert {"status", "tool_use", "result"} <= kinds

    def test_report_md(self, compared: Compared) -> None:
        md = (compared.report_dir / "report.md").read_text()
        assert md.startswith("## AIdeator comparison")
        assert "**Winner: variation 1** (`scripted/fix-correct`), picked by the score policy" in md
        assert "scripted model, not Claude" in md
        rows = [line for line in md.splitlines() if line.startswith("| ")]
        assert rows[0].startswith("|  | rank | variation | model | status | check")
        assert rows[1].startswith("| 🏆 | 1 | 1 | `scripted/fix-correct` | succeeded | ✅ passed")
        assert "| 2 | 0 | `scripted/fix-bad` | succeeded | ❌ failed (1) |" in rows[2]
        assert "no change" in rows[3]
        assert "```diff" in md and "ordered[middle - 1]" in md


def test_exit_1_when_none_passes(server: ServerProcess, shared_repo: Path, tmp_path: Path) -> None:
    res = aideator(
        "compare",
        "--server",
        server.url,
        "--repo",
        str(shared_repo),
        "-p",
        PROMPT,
        "-m",
        "scripted/fix-bad",
        "-m",
        "scripted/no-change",
        "-c",
        CHECK,
        "-o",
        str(tmp_path / "rep"),
        cwd=tmp_path,
    )
    assert res.returncode == 1, res.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["outcome"] == "failed" and report["winner"] is None
    assert [v["passed"] for v in report["variations"]] == [False, False]
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "**No winner recorded.** ❌ no variation passed." in md


class TestExit2:
    def test_bad_usage(self, tmp_path: Path) -> None:
        res = aideator("compare", "--repo", ".", "--server", "http://127.0.0.1:9", cwd=tmp_path)
        assert res.returncode == 2
        _one_error_line(res.stderr)
        assert "error: no prompt given" in res.stderr
        res = aideator("compare", "--no-such-flag", cwd=tmp_path)
        assert res.returncode == 2 and "No such option" in res.stderr

    def test_invalid_spec_file(self, tmp_path: Path) -> None:
        spec = tmp_path / "spec.yaml"
        spec.write_text("repo_url: .\nprompt: x\nvariations: [{model: 1, colour: red}]\n")
        res = aideator(
            "compare", "--spec", str(spec), "--server", "http://127.0.0.1:9", cwd=tmp_path
        )
        assert res.returncode == 2
        _one_error_line(res.stderr)
        assert "invalid run spec: variations" in res.stderr

    def test_server_unreachable(self, tmp_path: Path) -> None:
        res = aideator(
            "compare",
            "--server",
            f"http://127.0.0.1:{free_port()}",
            "--repo",
            str(tmp_path),
            "-p",
            "x",
            cwd=tmp_path,
        )
        assert res.returncode == 2
        _one_error_line(res.stderr)
        assert "cannot reach the AIdeator server" in res.stderr

    def test_server_from_environment(self, tmp_path: Path) -> None:
        env = clean_env(AIDEATOR_SERVER=f"http://127.0.0.1:{free_port()}")
        res = aideator("compare", "--repo", str(tmp_path), "-p", "x", cwd=tmp_path, env=env)
        assert res.returncode == 2 and "cannot reach" in res.stderr

    def test_repository_that_cannot_be_cloned(self, server: ServerProcess, tmp_path: Path) -> None:
        not_a_repo = tmp_path / "broken"
        (not_a_repo / ".git").mkdir(parents=True)  # a repository's root that git cannot read
        res = aideator(
            "compare",
            "--server",
            server.url,
            "--repo",
            str(not_a_repo),
            "-p",
            PROMPT,
            "-m",
            "scripted/fix-correct",
            "-c",
            CHECK,
            "-o",
            str(tmp_path / "rep"),
            cwd=tmp_path,
        )
        assert res.returncode == 2, res.stdout + res.stderr
        report = json.loads((tmp_path / "rep" / "report.json").read_text())
        assert report["outcome"] == "error" and report["run"]["status"] == "failed"
        assert report["run"]["error"]
