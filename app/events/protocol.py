"""Parse agent stdout lines (docs/protocol.md) into normalized lines; never raises."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
LINE_TYPES = frozenset(
    {"status", "assistant_text", "tool_use", "tool_result", "usage", "log", "error", "result"}
)
MAX_TEXT_CHARS = 16_000


@dataclass(frozen=True)
class AgentLine:
    """One normalized agent line."""

    type: str
    seq: int | None = None
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_payload(self, variation_id: int) -> dict[str, Any]:
        """The `agent_output` SSE payload for this line."""
        payload: dict[str, Any] = {"variation_id": variation_id, "seq": self.seq, "type": self.type}
        if self.text is not None:
            payload["text"] = self.text
        if self.data:
            payload["data"] = self.data
        return payload


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"… [{len(text) - MAX_TEXT_CHARS} more chars]"


def _as_log(raw: str) -> AgentLine:
    return AgentLine(type="log", text=_clip(raw), data={"source": "raw"})


def parse_line(raw: str | bytes) -> AgentLine | None:
    """Parse one line; returns None for blank lines, a `log` line for anything not protocol."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    raw = raw.rstrip("\r\n")
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return _as_log(raw)
    if not isinstance(obj, dict):
        return _as_log(raw)
    kind = obj.get("type")
    seq = obj.get("seq")
    if not isinstance(kind, str) or kind not in LINE_TYPES or obj.get("v") != PROTOCOL_VERSION:
        return _as_log(raw)
    if not (isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**62):
        return _as_log(raw)
    text = obj.get("text")
    data = obj.get("data")
    if text is not None and not isinstance(text, str):
        text = json.dumps(text)
    if not isinstance(data, dict):
        data = {} if data is None else {"value": data}
    return AgentLine(type=str(kind), seq=seq, text=_clip(text) if text else text, data=data)
