"""What each variation runs: the agent spec JSON, the variation plan and cache-busting ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DEFAULT_MODEL = "claude-sonnet-4-5"
AGENT_KINDS = ("claude-code", "command")
MAX_VARIATIONS = 20
# Names the module sets itself; a user-supplied --env may not override them.
RESERVED_ENV_PREFIXES = ("ANTHROPIC_", "RELAY_", "AIDEATOR_", "CLAUDE_CODE_")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class PlannedVariation:
    """One variation of a comparison: its id and model."""

    variation_id: int
    model: str


def agent_spec(
    *,
    prompt: str,
    agent: str,
    model: str,
    max_turns: int,
    system_prompt_append: str,
    command: list[str],
    base_sha: str,
    run_id: str,
    variation_id: int,
) -> dict[str, Any]:
    """The `AIDEATOR_SPEC` object the agent program reads (empty values become null)."""
    if agent not in AGENT_KINDS:
        raise ValueError(f"agent must be one of {', '.join(AGENT_KINDS)}, not {agent!r}")
    if agent == "command" and not command:
        raise ValueError("agent 'command' needs --command")
    if agent == "claude-code" and not prompt.strip():
        raise ValueError("--prompt is required for agent 'claude-code'")
    if max_turns < 0:
        raise ValueError("--max-turns must be positive (0: the agent's default)")
    return {
        "prompt": prompt,
        "agent": agent,
        "model": model or None,
        "max_turns": max_turns or None,
        "system_prompt_append": system_prompt_append or None,
        "command": list(command),
        "base_sha": base_sha or None,
        "run_id": run_id,
        "variation_id": variation_id,
    }


def base_sha_of(ref: str) -> str:
    """The ref itself when it is a full commit id, else "" (the agent then diffs against HEAD)."""
    return ref if _FULL_SHA.match(ref) else ""


def plan_variations(models: list[str], count: int) -> list[PlannedVariation]:
    """`count` variations of each model, numbered from 0 in order."""
    names = [m.strip() for m in models if m.strip()]
    if not names:
        raise ValueError("--models needs at least one model")
    if count < 1:
        raise ValueError("--count must be at least 1")
    total = len(names) * count
    if total > MAX_VARIATIONS:
        raise ValueError(f"{total} variations requested; at most {MAX_VARIATIONS} per comparison")
    return [
        PlannedVariation(variation_id=i, model=model)
        for i, model in enumerate(m for m in names for _ in range(count))
    ]


def cache_bust_value(run_id: str, variation_id: int, nonce: str) -> str:
    """A value that differs for every call, so the engine never serves an agent exec from cache."""
    return f"run={run_id} variation={variation_id} nonce={nonce}"


def relay_ingest_path(run_id: str, variation_id: int) -> str:
    """The host's relay ingest path for one variation."""
    return f"/api/v1/internal/runs/{run_id}/variations/{variation_id}/events"


def parse_env_pairs(pairs: list[str]) -> list[tuple[str, str]]:
    """Turn `NAME=value` items into pairs, refusing names the module manages itself."""
    parsed: list[tuple[str, str]] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.match(name):
            raise ValueError(f"--env items must look like NAME=value, got {pair!r}")
        if name.upper().startswith(RESERVED_ENV_PREFIXES):
            raise ValueError(f"--env may not set {name}: the module manages it")
        parsed.append((name, value))
    return parsed
