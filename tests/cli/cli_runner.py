"""Runs the `aideator` CLI as a subprocess, as a user or a CI job would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import SAMPLE_REPO, make_git_repo

CHECK = "python3 -m unittest -q"
PROMPT = "The median test fails for lists of even length. Fix numstats."


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without AIDEATOR_*/ANTHROPIC_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIDEATOR_", "ANTHROPIC_"))}
    env.pop("COLUMNS", None)
    return env | extra


def aideator(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI (`python -m app.cli`) to its end; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def sample_copy(root: Path) -> Path:
    """A committed git copy of examples/sample-repo under `root`."""
    files = {
        str(p.relative_to(SAMPLE_REPO)): p.read_text()
        for p in SAMPLE_REPO.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    return make_git_repo(root / "sample-repo", files)


@dataclass
class Compared:
    """A finished `aideator compare` with a passing variation."""

    result: subprocess.CompletedProcess[str]
    report_dir: Path
    report: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.report["run"]["id"])
