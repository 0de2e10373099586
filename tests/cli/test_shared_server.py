"""With `aideator serve` running: the CLI uses it only when it can do the job.

The served data directory is locked; a server that refuses local repositories cannot run the
demo or `run --repo <local path>`, so those start a private embedded server and succeed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.cli_runner import CHECK, PROMPT, aideator, clean_env, sample_copy
from tests.server_process import free_port

pytestmark = pytest.mark.e2e


def _env(port: int) -> dict[str, str]:
    return clean_env(
        AIDEATOR_BACKEND="process",
        AIDEATOR_ALLOW_UNSANDBOXED="true",
        AIDEATOR_PORT=str(port),
        AIDEATOR_SCRIPTED_CHUNK_DELAY="0",
    )


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], str]]:
    """`aideator serve` (local repositories refused, the default) in `tmp_path`."""
    port = free_port()
    env = _env(port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "aideator serve exited"
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "aideator serve did not start"
            time.sleep(0.1)
        yield tmp_path, env, url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_demo_and_local_run_work_while_serve_runs(
    serving: tuple[Path, dict[str, str], str],
) -> None:
    cwd, env, url = serving
    demo = aideator("demo", "--quiet", cwd=cwd, env=env, timeout=120)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "does not accept local repositories (AIDEATOR_ALLOW_LOCAL_REPOS is off)" in demo.stderr
    assert "embedded server with its own data in" in demo.stderr
    assert "★ winner: variation 0" in demo.stdout

    repo = sample_copy(cwd / "work")
    run = aideator(
        "run", "--repo", str(repo), "-p", PROMPT, "-m", "scripted/fix-correct", "-c", CHECK,
        "-q", cwd=cwd, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passed" in run.stdout and "AIDEATOR_DATA_DIR=" in run.stdout

    # The served database never saw those runs; its own API still answers.
    assert httpx.get(f"{url}/api/v1/runs").json()["items"] == []
    refused = httpx.post(
        f"{url}/api/v1/runs", json={"repo_url": str(repo), "prompt": "p", "variations": 1}
    )
    assert refused.status_code == 422
    assert "AIDEATOR_ALLOW_LOCAL_REPOS" in refused.json()["error"]["message"]
