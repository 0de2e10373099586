"""Scenario files: what the scripted model says and which tools it calls, turn by turn."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCENARIO_DIR = Path(__file__).parent / "scenarios"
MODEL_PREFIX = "scripted/"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ScenarioError(Exception):
    """A scenario file is missing, unreadable or not a valid scenario."""


class ToolCall(BaseModel):
    """One tool_use block the model emits."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)


class Turn(BaseModel):
    """One assistant message: optional text, then zero or more tool calls."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    # A text-only turn before the last one ends a reply; the next turn answers the user's
    # follow-up message (a multi-turn conversation, docs/conversations.md).
    awaits_follow_up: bool = False

    @model_validator(mode="after")
    def _not_empty(self) -> Turn:
        if not self.text and not self.tool_calls:
            raise ValueError("a turn needs text, tool calls, or both")
        return self


class Scenario(BaseModel):
    """A scripted conversation: turn n answers the request that holds n assistant messages."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""
    turns: list[Turn] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_with_text(self) -> Scenario:
        *middle, last = self.turns
        if last.tool_calls or not last.text:
            raise ValueError("the last turn must be text only (it ends with end_turn)")
        for index, turn in enumerate(middle):
            if turn.awaits_follow_up and turn.tool_calls:
                raise ValueError(f"turn {index} awaits a follow-up, so it has no tool calls")
            if not turn.tool_calls and not turn.awaits_follow_up:
                # Claude Code stops at the first reply without tool calls, so later turns
                # would never be asked for (unless a follow-up message continues it).
                raise ValueError(f"turn {index} has no tool calls but is not the last turn")
        return self


def load_scenario_file(path: Path) -> Scenario:
    """Read and validate one scenario JSON file; its name is the file's stem."""
    name = path.stem
    if not _NAME.match(name):
        raise ScenarioError(f"{path.name}: scenario names use a-z, 0-9, '-' and '_'")
    try:
        scenario = Scenario.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path.name}: {exc}") from exc
    return scenario.model_copy(update={"name": name})


@lru_cache(maxsize=8)
def load_scenarios(directory: Path = SCENARIO_DIR) -> dict[str, Scenario]:
    """Every scenario in directory by name, read once (the files ship with the package)."""
    if not directory.is_dir():
        raise ScenarioError(f"no scenario directory at {directory}")
    scenarios = [load_scenario_file(path) for path in sorted(directory.glob("*.json"))]
    return {scenario.name: scenario for scenario in scenarios}


def list_scenarios(directory: Path = SCENARIO_DIR) -> list[str]:
    """Names of the available scenarios, sorted."""
    return sorted(load_scenarios(directory))


def scenario_exists(name: str, directory: Path = SCENARIO_DIR) -> bool:
    """True if `name` (with or without the `scripted/` prefix) is a known scenario."""
    return scenario_name(name) in load_scenarios(directory)


def scenario_name(model: str) -> str:
    """The scenario part of a model name: `scripted/fix-correct` -> `fix-correct`."""
    return model.removeprefix(MODEL_PREFIX)


def is_scripted_model(model: str) -> bool:
    """True for model names the scripted model plays (`scripted/<scenario>`)."""
    return model.startswith(MODEL_PREFIX)
