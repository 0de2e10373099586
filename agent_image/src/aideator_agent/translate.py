"""Translate Claude Code `--output-format stream-json` output into protocol lines.

No I/O here: feed it raw lines, get protocol lines back. It never raises on odd input;
anything it does not understand becomes a `log` line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aideator_agent.protocol import TOOL_RESULT_MAX_CHARS, USAGE_FIELDS, zero_usage
from aideator_agent.tool_summary import summarize_tool_use

MAX_LOG_CHARS = 4000
_BUDGET_RE = re.compile(r"budget[\s_-]?(exhausted|exceeded)|budget.{0,60}?(exhaust|exceed)", re.I)


@dataclass(frozen=True)
class AgentLine:
    """One protocol line before it gets a seq."""

    type: str
    text: str | None = None
    data: dict[str, Any] | None = None


def _clip(text: str, limit: int = MAX_LOG_CHARS) -> str:
    return text if len(text) <= limit else text[:limit]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def tool_result_text(content: object) -> str:
    """Flatten a tool_result `content` (string or list of blocks) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif isinstance(block, dict):
                parts.append(f"[{block.get('type', 'block')}]")
            else:
                parts.append(str(block))
        return "\n".join(parts)
    return "" if content is None else json.dumps(content, default=str)


class StreamTranslator:
    """Stateful translator for one Claude Code session (usage totals, budget flag)."""

    def __init__(self, workdir: str | None = None) -> None:
        self._workdir = workdir
        self._usage_by_message: dict[str, dict[str, int]] = {}
        self._usage = zero_usage()
        self._budget_reported = False
        self.session_id: str | None = None  # from the CLI's init message

    @property
    def usage(self) -> dict[str, int]:
        """Cumulative token usage seen so far."""
        return dict(self._usage)

    def feed_line(self, raw: str) -> list[AgentLine]:
        """Translate one stdout line of the CLI."""
        stripped = raw.strip()
        if not stripped:
            return []
        try:
            message = json.loads(stripped)
        except ValueError:
            return [self._log(stripped, "claude")]
        if not isinstance(message, dict):
            return [self._log(stripped, "claude")]
        return self.feed_message(message)

    def feed_stderr(self, raw: str) -> list[AgentLine]:
        """Translate one stderr line of the CLI (a log line, plus a budget error if it says so)."""
        text = raw.rstrip("\r\n")
        return [self._log(text, "stderr"), *self._budget_check(text)]

    def feed_message(self, message: dict[str, Any]) -> list[AgentLine]:
        """Translate one decoded stream-json message."""
        try:
            kind = message.get("type")
            if kind == "assistant":
                return self._assistant(message)
            if kind == "user":
                return self._user(message)
            if kind == "result":
                return self._result(message)
            if kind == "system":
                return [self._system(message)]
        except (AttributeError, TypeError, ValueError, KeyError):
            pass  # malformed known type: fall through to a plain log line
        return [self._log(json.dumps(message, ensure_ascii=False, default=str), "claude")]

    def _assistant(self, message: dict[str, Any]) -> list[AgentLine]:
        inner = message.get("message") or {}
        blocks = inner.get("content") or []
        if isinstance(blocks, str):
            blocks = [{"type": "text", "text": blocks}]
        api_error = bool(message.get("error")) or inner.get("model") == "<synthetic>"
        lines: list[AgentLine] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            block_type = block.get("type")
            if block_type == "text":
                text = str(block.get("text") or "")
                if api_error and text.startswith("API Error"):
                    lines += self._budget_check(text) or [
                        AgentLine("error", text, {"code": "api_error"})
                    ]
                elif text.strip():
                    lines.append(AgentLine("assistant_text", text))
            elif block_type in ("tool_use", "server_tool_use"):
                lines.append(self._tool_use(block))
            elif block_type == "thinking" and str(block.get("thinking") or "").strip():
                lines.append(self._log(str(block["thinking"]), "thinking"))
        usage_line = self._add_usage(inner.get("id"), inner.get("usage"))
        return lines + usage_line

    def _tool_use(self, block: dict[str, Any]) -> AgentLine:
        name = str(block.get("name") or "tool")
        tool_input = block.get("input")
        if not isinstance(tool_input, dict):
            tool_input = {"value": tool_input} if tool_input is not None else {}
        summary = summarize_tool_use(name, tool_input, self._workdir)
        data = {"id": str(block.get("id") or ""), "name": name, "input": tool_input}
        return AgentLine("tool_use", summary, data)

    def _user(self, message: dict[str, Any]) -> list[AgentLine]:
        blocks = (message.get("message") or {}).get("content")
        if isinstance(blocks, str):
            return [self._log(blocks, "user")] if blocks.strip() else []
        lines: list[AgentLine] = []
        for block in blocks or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                text = tool_result_text(block.get("content"))
                data: dict[str, Any] = {
                    "tool_use_id": str(block.get("tool_use_id") or ""),
                    "is_error": block.get("is_error") is True,
                }
                if len(text) > TOOL_RESULT_MAX_CHARS:
                    data["truncated"] = True
                lines.append(AgentLine("tool_result", text[:TOOL_RESULT_MAX_CHARS], data))
            elif block.get("type") == "text" and str(block.get("text") or "").strip():
                lines.append(self._log(str(block["text"]), "user"))
        return lines

    def _result(self, message: dict[str, Any]) -> list[AgentLine]:
        lines = self._add_usage(None, message.get("usage"), authoritative=True)
        subtype = str(message.get("subtype") or "")
        is_error = message.get("is_error") is True or subtype.startswith("error")
        data: dict[str, Any] = {"source": "claude", "subtype": subtype, "is_error": is_error}
        for key in ("num_turns", "duration_ms", "total_cost_usd"):
            if key in message:
                data[key] = message[key]
        turns = f", {message['num_turns']} turn(s)" if "num_turns" in message else ""
        lines.append(AgentLine("log", f"claude-code finished: {subtype or 'done'}{turns}", data))
        if is_error:
            text = str(message.get("result") or "") or f"claude-code failed: {subtype}"
            errors = message.get("errors")
            if isinstance(errors, list) and errors and not message.get("result"):
                text = "; ".join(str(error) for error in errors)
            lines += self._budget_check(text) or [
                AgentLine("error", _clip(text), {"code": "agent_failed"})
            ]
        return lines

    def _system(self, message: dict[str, Any]) -> AgentLine:
        subtype = str(message.get("subtype") or "")
        data: dict[str, Any] = {"source": "claude", "subtype": subtype}
        if subtype == "init":
            session = message.get("session_id")
            if isinstance(session, str) and session:
                self.session_id = session
                data["session_id"] = session
            tools = message.get("tools")
            data["model"] = message.get("model")
            count = f", {len(tools)} tools" if isinstance(tools, list) else ""
            return AgentLine(
                "log", f"claude-code session started (model {data['model']}{count})", data
            )
        text = json.dumps(message, ensure_ascii=False, default=str)
        return AgentLine("log", _clip(f"system {subtype}: {text}"), data)

    def _add_usage(
        self, message_id: object, usage: object, *, authoritative: bool = False
    ) -> list[AgentLine]:
        """Fold a usage block into the totals; a `usage` line when they changed."""
        if not isinstance(usage, dict):
            return []
        counts = {name: _count(usage.get(name)) for name in USAGE_FIELDS}
        before = dict(self._usage)
        if authoritative:
            # The final result carries session totals: never let totals go backwards.
            self._usage = {name: max(self._usage[name], counts[name]) for name in USAGE_FIELDS}
        else:
            # Claude Code repeats one API message's usage on each content block: keep the
            # largest value per message id rather than adding the repeats.
            key = str(message_id) if message_id else f"anon-{len(self._usage_by_message)}"
            seen = self._usage_by_message.get(key, zero_usage())
            merged = {name: max(seen[name], counts[name]) for name in USAGE_FIELDS}
            self._usage_by_message[key] = merged
            self._usage = {
                name: self._usage[name] + merged[name] - seen[name] for name in USAGE_FIELDS
            }
        return [] if self._usage == before else [AgentLine("usage", None, self.usage)]

    def _budget_check(self, text: str) -> list[AgentLine]:
        if self._budget_reported or "budget" not in text.lower() or not _BUDGET_RE.search(text):
            return []
        self._budget_reported = True
        return [AgentLine("error", _clip(text), {"code": "budget_exhausted"})]

    @staticmethod
    def _log(text: str, source: str) -> AgentLine:
        return AgentLine("log", _clip(text), {"source": source})
