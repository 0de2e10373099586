"""The variation spec the host hands to the agent (`AIDEATOR_SPEC` or `--spec-file`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AGENT_KINDS = ("claude-code", "command")


class SpecError(Exception):
    """The spec is missing, not JSON, or has a field of the wrong shape."""


@dataclass(frozen=True)
class AgentSpec:
    """What to run for one variation."""

    prompt: str
    agent: str = "claude-code"
    model: str | None = None
    max_turns: int | None = None
    system_prompt_append: str | None = None
    command: tuple[str, ...] = ()
    base_sha: str | None = None
    setup_tree: str | None = None  # tree id of the workspace as setup left it
    run_id: str | None = None
    variation_id: str | int | None = None
    resume_session: str | None = None  # a Claude Code session id to continue (a follow-up turn)


def _optional_str(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecError(f"{name} must be a string")
    return value or None


def parse_spec(raw: object) -> AgentSpec:
    """Validate a decoded spec object; unknown fields are ignored."""
    if not isinstance(raw, dict):
        raise SpecError("spec must be a JSON object")
    agent = raw.get("agent") or "claude-code"
    if agent not in AGENT_KINDS:
        raise SpecError(f"agent must be one of {', '.join(AGENT_KINDS)}")
    prompt = raw.get("prompt", "")
    if not isinstance(prompt, str):
        raise SpecError("prompt must be a string")
    if agent == "claude-code" and not prompt.strip():
        raise SpecError("prompt is required for agent claude-code")
    max_turns = raw.get("max_turns")
    if max_turns is not None and (
        not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1
    ):
        raise SpecError("max_turns must be a positive integer")
    command = raw.get("command") or []
    if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
        raise SpecError("command must be a list of strings")
    if agent == "command" and not command:
        raise SpecError("command is required for agent command")
    variation_id = raw.get("variation_id")
    if variation_id is not None and (
        isinstance(variation_id, bool) or not isinstance(variation_id, str | int)
    ):
        raise SpecError("variation_id must be a string or an integer")
    base_sha = _optional_str(raw, "base_sha")
    if base_sha is not None and base_sha.startswith("-"):
        raise SpecError("base_sha must be a commit id")
    setup_tree = _optional_str(raw, "setup_tree")
    if setup_tree is not None and not all(c in "0123456789abcdef" for c in setup_tree):
        raise SpecError("setup_tree must be a tree id")
    resume_session = _optional_str(raw, "resume_session")
    if resume_session is not None and not (
        resume_session[0].isalnum() and all(c.isalnum() or c == "-" for c in resume_session)
    ):
        raise SpecError("resume_session must be a session id")
    return AgentSpec(
        prompt=prompt,
        agent=agent,
        model=_optional_str(raw, "model"),
        max_turns=max_turns,
        system_prompt_append=_optional_str(raw, "system_prompt_append"),
        command=tuple(command),
        base_sha=base_sha,
        setup_tree=setup_tree,
        run_id=None if raw.get("run_id") is None else str(raw["run_id"]),
        variation_id=variation_id,
        resume_session=resume_session,
    )


def load_spec(spec_file: Path | None, env_value: str | None) -> AgentSpec:
    """Read the spec from `spec_file` if given, else from the `AIDEATOR_SPEC` value."""
    if spec_file is not None:
        try:
            text = spec_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read spec file: {exc.strerror or exc}") from exc
    elif env_value:
        text = env_value
    else:
        raise SpecError("no spec: set AIDEATOR_SPEC or pass --spec-file")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"spec is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    return parse_spec(raw)
