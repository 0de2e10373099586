"""Without --server: `demo` and `runs list` on an embedded server; one server per data dir."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app.cli.server_lock import ServerLock
from tests.cli.cli_runner import aideator, clean_env
from tests.server_process import free_port

pytestmark = pytest.mark.e2e


def _env(port: int) -> dict[str, str]:
    # The unsandboxed backend keeps the test fast and independent of bubblewrap.
    return clean_env(
        AIDEATOR_BACKEND="process",
        AIDEATOR_ALLOW_UNSANDBOXED="true",
        AIDEATOR_PORT=str(port),
    )


def test_demo_then_runs_list_on_the_same_database(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    # No streaming delay here: the test wants the demo's result, not its pace.
    env = _env(port) | {"AIDEATOR_SCRIPTED_CHUNK_DELAY": "0"}
    demo = aideator("demo", cwd=tmp_path, env=env, timeout=120)
    took = time.monotonic() - started
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert took < 120
    assert "scripted model, not Claude" in demo.stderr
    lines = demo.stdout.splitlines()
    for vid, model in enumerate(("scripted/fix-correct", "scripted/fix-bad", "scripted/no-change")):
        mine = [line for line in lines if line.startswith(f"v{vid} {model}")]
        assert any("→ Read" in line for line in mine), model
        assert any(line.endswith("■ succeeded") for line in mine), model
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("run ")) :]
    assert any("scripted/fix-correct" in r and "passed" in r and "1 file +1/-1" in r for r in table)
    assert any("scripted/no-change" in r and "no change" in r for r in table)
    assert any(r.startswith("★ winner: variation 0 (selected by policy") for r in table)
    assert f"run `aideator serve`, then open http://127.0.0.1:{port}/#/runs/" in demo.stdout
    assert (tmp_path / "aideator.db").is_file()  # where `aideator serve` will find the run

    listed = aideator("runs", "list", "--json", cwd=tmp_path, env=_env(port))
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)["items"]
    assert run["status"] == "succeeded" and run["variation_count"] == 3
    assert run["winning_variation_id"] == 0 and run["winner_selected_by"] == "policy"


def test_a_busy_data_directory_is_refused_with_a_hint(tmp_path: Path) -> None:
    lock = ServerLock(tmp_path / ".aideator")
    assert lock.acquire(kind="embedded", url="http://127.0.0.1:9")
    try:
        res = aideator("runs", "list", cwd=tmp_path, env=_env(free_port()))
    finally:
        lock.release()
    assert res.returncode == 2
    assert "error: another aideator process" in res.stderr and "hint:" in res.stderr
    assert "Traceback" not in res.stderr


def test_bad_settings_are_one_line(tmp_path: Path) -> None:
    env = _env(free_port()) | {"AIDEATOR_ALLOW_UNSANDBOXED": "false"}
    res = aideator("runs", "list", cwd=tmp_path, env=env)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "error: invalid settings:" in res.stderr and "AIDEATOR_ALLOW_UNSANDBOXED" in res.stderr


def test_embedded_server_with_api_keys_configured(tmp_path: Path) -> None:
    # Keys in the settings turn auth on; the command uses a key of its own, not yours.
    env = _env(free_port()) | {"AIDEATOR_API_KEYS": "team-key"}
    res = aideator("runs", "list", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "no runs yet" in res.stderr


def test_serve_without_keys_stays_on_loopback(tmp_path: Path) -> None:
    import subprocess
    import sys

    import httpx

    port = free_port()
    env = clean_env(
        AIDEATOR_DATA_DIR=str(tmp_path / "data"),
        AIDEATOR_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        listening = Path("/proc/net/tcp").read_text().lower()
        assert f"0100007f:{port:04x}" in listening, "bound to 127.0.0.1"
        assert f"00000000:{port:04x}" not in listening, "not bound to every address"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "no AIDEATOR_API_KEYS configured" in err
