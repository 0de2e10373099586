"""Reads a Messages API request and decides the scripted reply: stateless, turn by turn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from app.scripted_model.scenarios import Scenario, Turn

StopReason = Literal["end_turn", "tool_use"]

CWD_PLACEHOLDER = "{cwd}"
# Claude Code states its working directory in the environment section it sends.
_CWD_LINE = re.compile(
    r"^\s*-?\s*(?:Primary working directory|Working directory):\s*(\S.*?)\s*$", re.M
)


class MissingWorkingDirectory(Exception):
    """The scenario uses `{cwd}` but the request never states a working directory."""


@dataclass(frozen=True)
class Reply:
    """The assistant message to send: content blocks and why it stops."""

    content: list[dict[str, Any]]
    stop_reason: StopReason


@dataclass(frozen=True)
class ToolFailure:
    """A tool_result block that reports an error."""

    tool_use_id: str
    text: str


def turn_index(messages: list[Any]) -> int:
    """Which scenario turn answers this request: the number of assistant messages so far."""
    return sum(1 for message in messages if _role(message) == "assistant")


def working_directory(system: Any, messages: list[Any]) -> str | None:
    """The working directory the client states in its system prompt or messages, if any."""
    for text in _texts(system, messages):
        match = _CWD_LINE.search(text)
        if match:
            return match.group(1)
    return None


def failed_tool_results(messages: list[Any]) -> list[ToolFailure]:
    """The errored tool_result blocks of the newest message, to show a scenario's author."""
    content = messages[-1].get("content") if messages and isinstance(messages[-1], dict) else None
    if not isinstance(content, list):
        return []
    return [
        ToolFailure(str(block.get("tool_use_id", "")), _flatten(block.get("content")))
        for block in content
        if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error")
    ]


def scripted_reply(scenario: Scenario, turn: int, *, cwd: str | None, tools_offered: bool) -> Reply:
    """The reply for `turn` of `scenario`, with `{cwd}` filled in."""
    if turn >= len(scenario.turns):
        # Only reachable when a client keeps asking after the final end_turn.
        return plain_reply(f"Scenario {scenario.name!r} has no turn {turn}; nothing more to do.")
    step = scenario.turns[turn]
    if step.tool_calls and not tools_offered:
        # A side request (title, summary...) that happens to use the scenario's model name.
        return plain_reply("Scripted model: no tools were offered, so here is a short answer.")
    return _render(step, turn, cwd)


def plain_reply(text: str) -> Reply:
    """A text-only reply that ends the turn."""
    return Reply(content=[{"type": "text", "text": text}], stop_reason="end_turn")


def _render(step: Turn, turn: int, cwd: str | None) -> Reply:
    content: list[dict[str, Any]] = []
    if step.text:
        content.append({"type": "text", "text": _fill(step.text, cwd)})
    for index, call in enumerate(step.tool_calls):
        content.append(
            {
                "type": "tool_use",
                "id": f"toolu_scripted_{turn:02d}_{index:02d}",
                "name": call.name,
                "input": _fill(call.input, cwd),
            }
        )
    return Reply(content=content, stop_reason="tool_use" if step.tool_calls else "end_turn")


def _fill(value: Any, cwd: str | None) -> Any:
    if isinstance(value, str):
        if CWD_PLACEHOLDER not in value:
            return value
        if cwd is None:
            raise MissingWorkingDirectory(
                "the scenario uses {cwd} but the request states no working directory "
                "(expected a line 'Primary working directory: /path')"
            )
        return value.replace(CWD_PLACEHOLDER, cwd.rstrip("/") or "/")
    if isinstance(value, dict):
        return {key: _fill(item, cwd) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, cwd) for item in value]
    return value


def _role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else None


def _texts(system: Any, messages: list[Any]) -> Iterator[str]:
    yield from _block_texts(system)
    for message in messages:
        if isinstance(message, dict) and message.get("role") in ("user", "system"):
            yield from _block_texts(message.get("content"))


def _block_texts(content: Any) -> Iterator[str]:
    """Text of a string or of a list of text blocks (tool results are not searched)."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                yield str(block.get("text", ""))


def _flatten(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(_block_texts(content))
