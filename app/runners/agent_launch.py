"""How the host starts the agent program: its argv and environment for one variation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.package_files import agent_source_dir
from app.runners.base import VariationJob

BASE_ENV = {
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "IS_SANDBOX": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def agent_spec(job: VariationJob) -> str:
    """The AIDEATOR_SPEC JSON the agent program reads."""
    spec = {
        **job.spec.for_agent(),
        "prompt": job.prompt,
        "base_sha": job.base_sha,
        "run_id": job.run_id,
        "variation_id": job.variation_id,
    }
    if job.setup_tree:
        spec["setup_tree"] = job.setup_tree  # the agent diffs only what changed since setup
    return json.dumps(spec)


def agent_argv(python: str = sys.executable) -> list[str]:
    """The command that starts the agent program."""
    return [python, "-m", "aideator_agent"]


def agent_env(job: VariationJob, *, home: Path, path: str, base_url: str | None) -> dict[str, str]:
    """A clean environment: nothing from the server's own environment leaks in."""
    env = {
        **job.env,
        **BASE_ENV,
        "HOME": str(home),
        "PATH": path,
        "PYTHONPATH": str(agent_source_dir()),
        "AIDEATOR_SPEC": agent_spec(job),
    }
    if base_url and job.gateway_token:
        env["ANTHROPIC_BASE_URL"] = base_url
        env["ANTHROPIC_API_KEY"] = job.gateway_token  # a per-variation placeholder, not the key
    if job.relay_url and job.relay_token:
        env["RELAY_URL"] = job.relay_url
        env["RELAY_TOKEN"] = job.relay_token
    return env
