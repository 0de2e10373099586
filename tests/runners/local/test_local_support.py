"""Helpers shared by the local (bubblewrap) backend's tests: jobs, runs, process scans."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.runners.base import AgentExit, AgentSpec, VariationJob
from app.runners.local import LocalRunner
from tests.conftest import make_git_repo

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing")


def sandbox_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for the local backend on temp dirs, with small limits unless overridden."""
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'aideator.db'}",
        "data_dir": tmp_path / "data",
        "backend": "local",
        "allow_local_repos": True,
        "sse_ping_interval": 1.0,
        "log_json": True,
        "sandbox_memory_mb": 1024,
        "sandbox_pids_max": 128,
        "sandbox_tmp_mb": 64,
    }
    values.update(overrides)
    return Settings(_env_file=None, anthropic_api_key=None, **values)  # type: ignore[call-arg]


def workspace(root: Path, files: dict[str, str] | None = None) -> tuple[Path, str]:
    """A committed git working tree and its HEAD sha."""
    tree = make_git_repo(root, files or {"README.md": "hello from the workspace\n"})
    sha = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return tree, sha


def command_job(tree: Path, sha: str, script: str, **fields: Any) -> VariationJob:
    """A job whose agent is `sh -c script` (the agent program's `command` kind)."""
    values: dict[str, Any] = {
        "run_id": "run-test",
        "variation_id": 0,
        "prompt": "do it",
        "spec": AgentSpec(agent="command", command=("sh", "-c", script)),
        "workspace": tree,
        "repo_url": str(tree),
        "base_sha": sha,
        "timeout_seconds": 30.0,
    }
    values.update(fields)
    return VariationJob(**values)


def with_command(job: VariationJob, argv: list[str]) -> VariationJob:
    """The same job running another command."""
    return replace(job, spec=AgentSpec(agent="command", command=tuple(argv)))


async def run_job(runner: LocalRunner, job: VariationJob) -> tuple[list[dict[str, Any]], AgentExit]:
    """Run a job to its end; its protocol lines (parsed) and the exit."""
    lines: list[dict[str, Any]] = []
    final: AgentExit | None = None
    async with asyncio.timeout(120):
        async for item in runner.run(job):
            if isinstance(item, AgentExit):
                final = item
            else:
                lines.append(json.loads(item))
    assert final is not None, "the runner must end with an AgentExit"
    return lines, final


def stdout_texts(lines: list[dict[str, Any]]) -> list[str]:
    """The command's stdout lines, as relayed by the agent program."""
    return [
        line.get("text", "")
        for line in lines
        if line["type"] == "log" and (line.get("data") or {}).get("source") == "stdout"
    ]


def result_of(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The data of the result line."""
    results = [line for line in lines if line["type"] == "result"]
    assert results, f"no result line in {lines[-3:]}"
    data: dict[str, Any] = results[-1]["data"]
    return data


def processes_with(marker: str) -> list[int]:
    """Host pids whose environment or command line contains `marker`."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for name in ("environ", "cmdline"):
            try:
                if needle in Path(f"/proc/{entry}/{name}").read_bytes():
                    found.append(int(entry))
                    break
            except OSError:
                continue
    return found
