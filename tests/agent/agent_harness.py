"""Helpers for running the real agent program as a subprocess in temporary git repos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENT_SRC = REPO_ROOT / "agent_image" / "src"
if str(AGENT_SRC) not in sys.path:
    sys.path.insert(0, str(AGENT_SRC))

GIT_ID = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}
# Variables of the surrounding shell that would change what the agent does.
_AGENT_ENV = (
    "AIDEATOR_SPEC",
    "AIDEATOR_CLAUDE_BIN",
    "RELAY_URL",
    "RELAY_TOKEN",
    "RELAY_FLUSH_TIMEOUT",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
)


@dataclass
class AgentRun:
    """What one run of the agent program printed."""

    returncode: int
    stdout: str
    stderr: str
    lines: list[dict[str, Any]]

    def of_type(self, line_type: str) -> list[dict[str, Any]]:
        """Lines of one protocol type, in order."""
        return [line for line in self.lines if line["type"] == line_type]

    @property
    def result(self) -> dict[str, Any]:
        """The data of the last (result) line."""
        assert self.lines[-1]["type"] == "result", self.lines[-1]
        data: dict[str, Any] = self.lines[-1]["data"]
        return data

    def logs(self, source: str = "stdout") -> list[str]:
        """Texts of `log` lines from one source."""
        return [
            line.get("text", "")
            for line in self.of_type("log")
            if line.get("data", {}).get("source") == source
        ]


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a test identity; return stdout."""
    env = {**os.environ, **GIT_ID}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def agent_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the agent program."""
    env = {key: value for key, value in os.environ.items() if key not in _AGENT_ENV}
    env["PYTHONPATH"] = str(AGENT_SRC)
    env.update(extra or {})
    return env


def run_agent(
    spec: dict[str, Any] | str | None,
    workdir: Path,
    *,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    timeout: float = 60,
) -> AgentRun:
    """Run `python -m aideator_agent` with `spec` in AIDEATOR_SPEC; parse its stdout."""
    extra = dict(env or {})
    if spec is not None:
        extra["AIDEATOR_SPEC"] = spec if isinstance(spec, str) else json.dumps(spec)
    done = subprocess.run(
        [sys.executable, "-m", "aideator_agent", *(args or [])],
        cwd=workdir,
        env=agent_env(extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [json.loads(raw) for raw in done.stdout.splitlines()]
    return AgentRun(done.returncode, done.stdout, done.stderr, lines)
