"""`aideator runs list|show|diff|select|cancel` and `export-preferences` against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.cli.cli_runner import Compared, aideator, clean_env
from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e


def test_select_then_show_shows_the_users_winner(
    server: ServerProcess, compared: Compared, tmp_path: Path
) -> None:
    run_id = compared.run_id
    shown = aideator("runs", "show", run_id, "--server", server.url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "★ winner: variation 1 (selected by policy" in shown.stdout

    picked = aideator(
        "runs",
        "select",
        run_id[:8],  # a unique prefix is enough
        "0",
        "--reason",
        "smallest change",
        "--server",
        server.url,
        cwd=tmp_path,
    )
    assert picked.returncode == 0, picked.stderr
    assert "★ winner: variation 0 (selected by user: smallest change)" in picked.stdout

    shown = aideator("runs", "show", run_id, "--server", server.url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "★ winner: variation 0 (selected by user: smallest change)" in shown.stdout
    for model in ("scripted/fix-bad", "scripted/fix-correct", "scripted/no-change"):
        assert model in shown.stdout
    row = next(line for line in shown.stdout.splitlines() if "scripted/fix-bad" in line)
    assert row.strip().startswith("★")
    stored = httpx.get(f"{server.url}/api/v1/runs/{run_id}").json()
    assert (stored["winning_variation_id"], stored["winner_selected_by"]) == (0, "user")

    as_json = aideator("runs", "show", run_id, "--json", "--server", server.url, cwd=tmp_path)
    assert json.loads(as_json.stdout)["winner_reason"] == "smallest change"

    exported = aideator("export-preferences", "--server", server.url, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    mine = [r for r in map(json.loads, exported.stdout.splitlines()) if r["run_id"] == run_id]
    assert [(r["chosen"]["variation_id"], r["rejected"]["variation_id"]) for r in mine] == [
        (0, 1),
        (0, 2),
    ]
    assert {(r["selected_by"], r["reason"]) for r in mine} == {("user", "smallest change")}
    assert mine[0]["chosen"]["spec"]["model"] == "scripted/fix-bad"
    assert "preference record(s)" in exported.stderr


def test_export_to_file_with_time_window(
    server: ServerProcess, compared: Compared, tmp_path: Path
) -> None:
    out = tmp_path / "prefs.jsonl"
    res = aideator(
        "export-preferences",
        "--since",
        "2000-01-01",
        "--include-diffs",
        "-o",
        str(out),
        "--server",
        server.url,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(r["run_id"] == compared.run_id and "diff" in r["chosen"] for r in records)
    res = aideator(
        "export-preferences", "--until", "2000-01-01", "--server", server.url, cwd=tmp_path
    )
    assert res.returncode == 0 and res.stdout == ""
    res = aideator("export-preferences", "--since", "last week", cwd=tmp_path)
    assert res.returncode == 2 and "is not an ISO 8601 time" in res.stderr


def test_list_diff_and_cancel_finished(
    server: ServerProcess, compared: Compared, tmp_path: Path
) -> None:
    listed = aideator("runs", "list", "--server", server.url, cwd=tmp_path)
    assert listed.returncode == 0 and compared.run_id[:8] in listed.stdout
    patch = aideator("runs", "diff", compared.run_id, "1", "--server", server.url, cwd=tmp_path)
    assert patch.returncode == 0
    assert patch.stdout == (compared.report_dir / "variation-1.patch").read_text()
    cancel = aideator("runs", "cancel", compared.run_id, "--server", server.url, cwd=tmp_path)
    assert cancel.returncode == 2 and "Traceback" not in cancel.stderr
    assert "error: run already succeeded" in cancel.stderr and "hint:" in cancel.stderr
    missing = aideator("runs", "show", "no-such-run", "--server", server.url, cwd=tmp_path)
    assert missing.returncode == 2 and "no run id starts with 'no-such-run'" in missing.stderr
    unknown = "00000000-0000-0000-0000-000000000000"
    missing = aideator("runs", "show", unknown, "--server", server.url, cwd=tmp_path)
    assert missing.returncode == 2 and f"error: run {unknown} not found" in missing.stderr


def test_api_key_for_a_server_that_wants_one(tmp_path: Path) -> None:
    keyed = ServerProcess(tmp_path / "keyed", api_keys="k-one,k-two").start()
    try:
        refused = aideator("runs", "list", "--server", keyed.url, cwd=tmp_path)
        assert refused.returncode == 2 and "error: missing or wrong X-API-Key" in refused.stderr
        assert "hint: pass the server's API key with --api-key" in refused.stderr
        env = clean_env(AIDEATOR_API_KEY="k-two")
        ok = aideator("runs", "list", "--server", keyed.url, cwd=tmp_path, env=env)
        assert ok.returncode == 0, ok.stderr
        assert "no runs yet" in ok.stderr
    finally:
        keyed.stop()
