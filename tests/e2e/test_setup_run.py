"""Setup end to end (local backend): install through the egress proxy once, share it N times.

A repository whose test imports a package installed nowhere; a loopback index serves it as
a wheel this test builds. The setup command makes a virtualenv and installs the package
through the proxy; three variations' checks pass; the index served the wheel once; a
variation with network `none` cannot reach the index; a second run on the same commit
reports the setup cached; the diffs hold only the agents' changes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.conftest import command_spec, make_git_repo, wait_finished
from tests.e2e.package_index import PackageIndex, build_wheel
from tests.sse_client import SSE, collect

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

PACKAGE = "aideatorprobe"
TEST_FILE = f"import unittest\nimport {PACKAGE}\n\n\nclass T(unittest.TestCase):\n"
TEST_FILE += f"    def test_value(self):\n        self.assertEqual({PACKAGE}.VALUE, 42)\n"


def _setup_command(index: PackageIndex) -> str:
    return (
        # The system's pip installs into the project's fresh venv (faster than seeding one).
        "python3 -m venv --without-pip .venv && python3 -m pip --python .venv/bin/python "
        "install -q --no-cache-dir --disable-pip-version-check "
        f"--index-url {index.url} {PACKAGE} && echo installed-ok"
    )


def _agents(index: PackageIndex) -> list[dict[str, Any]]:
    reach = (
        "python3 -c \"import urllib.request as u; u.urlopen('"
        + index.url
        + "/', timeout=3)\" 2>/dev/null && echo reached-index || echo index-unreachable"
    )
    return [
        command_spec("echo one >> README.md"),
        command_spec("echo two > notes.txt; test -x .venv/bin/python && echo venv-here"),
        command_spec(f"echo proxy=${{HTTP_PROXY:-none}}; {reach}; echo three >> README.md"),
    ]


async def _run(client: httpx.AsyncClient, repo: Path, index: PackageIndex) -> dict[str, Any]:
    body = {
        "repo_url": str(repo),
        "prompt": "p",
        "variations": _agents(index),
        "setup_command": _setup_command(index),
        "check_command": "python -m unittest -q",
    }
    res = await client.post("/api/v1/runs", json=body)
    assert res.status_code == 202, res.text
    run = await wait_finished(client, res.json()["run_id"], timeout=240)
    run["events"] = await collect(client, f"/api/v1/runs/{run['id']}/stream")
    run["diffs"] = [
        (await client.get(f"/api/v1/runs/{run['id']}/variations/{n}/diff")).text for n in range(3)
    ]
    return run


def _texts(events: list[SSE], kind: str, variation: int | None = None) -> list[str]:
    return [
        str(e.json.get("text"))
        for e in events
        if e.event == kind and (variation is None or e.json.get("variation_id") == variation)
    ]


def _applies(repo: Path, fresh: Path, diff: str) -> int:
    subprocess.run(["git", "clone", "-q", str(repo), str(fresh)], check=True)
    applied = subprocess.run(["git", "-C", str(fresh), "apply", "-"], input=diff.encode())
    return applied.returncode


async def test_setup_once_shared_cached_and_left_out_of_diffs(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from app.main import create_app

    wheel = build_wheel(tmp_path, PACKAGE, "1.0", "VALUE = 42\n")
    repo = make_git_repo(tmp_path / "repo", {"README.md": "hi\n", "test_probe.py": TEST_FILE})
    with PackageIndex(wheel, PACKAGE) as index:
        settings = make_settings(
            backend="local", allow_unsandboxed=False, egress_allow=f"127.0.0.1:{index.port}"
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                first = await _run(client, repo, index)
                second = await _run(client, repo, index)

    assert first["status"] == "succeeded", first
    assert [v["check"]["passed"] for v in first["variations"]] == [True, True, True], first
    assert index.downloads == 1, index.requests  # once for three variations and two runs
    setup_lines = _texts(first["events"], "setup_output")
    assert "installed-ok" in setup_lines and setup_lines[-1].startswith("setup: done in")
    egress = [e.json for e in first["events"] if e.event == "egress"]
    assert egress and all(e["variation_id"] is None for e in egress)
    assert any(e["allowed"] and e["port"] == index.port for e in egress), egress
    assert first["setup"]["source"] == "spec" and first["setup"]["status"] == "done"
    assert first["variations"][0]["manifest"]["setup"]["source"] == "spec"
    # The set-up tree is every variation's start...
    assert "venv-here" in _texts(first["events"], "agent_output", 1)
    # ...but the network `none` variation has no proxy and cannot reach the index.
    lines = _texts(first["events"], "agent_output", 2)
    assert "proxy=none" in lines and "index-unreachable" in lines, lines
    # The diffs hold only what the agents did, and apply to base_sha.
    for diff in first["diffs"]:
        assert ".venv" not in diff and PACKAGE not in diff and diff.startswith("diff --git")
    assert [v["diff_stats"]["files"] for v in first["variations"]] == [1, 1, 1]
    fresh = tmp_path / "fresh"
    assert _applies(repo, fresh, first["diffs"][1]) == 0
    assert (fresh / "notes.txt").read_text() == "two\n"

    assert second["status"] == "succeeded", second
    assert second["setup"]["status"] == "cached" and second["setup"]["cached"] is True
    assert _texts(second["events"], "setup_output") == ["setup: cached"]
    assert [v["check"]["passed"] for v in second["variations"]] == [True, True, True]
    assert second["diffs"] == first["diffs"]
