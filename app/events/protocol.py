"""Parse agent stdout lines (docs/protocol.md) into normalized lines; never raises."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

PROTOCOL_VERSION = 1
LINE_TYPES = frozenset(
    {"status", "assistant_text", "tool_use", "tool_result", "usage", "log", "error", "result"}
)
MAX_TEXT_CHARS = 16_000
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_decode = json.JSONDecoder().raw_decode


@dataclass(slots=True)
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

    def to_json(self, variation_id: int, turn: int | None = None) -> str:
        """`to_payload` (with `turn` last when given) as compact JSON, the form the event
        log stores: built directly, since agent lines are the hot path of the relay."""
        seq = "null" if self.seq is None else str(self.seq)
        out = f'{{"variation_id":{variation_id},"seq":{seq},"type":{encode_basestring(self.type)}'
        if self.text is not None:
            out += ',"text":' + encode_basestring(self.text)
        if self.data:
            out += _data_json(self.data)
        return out + "}" if turn is None else f'{out},"turn":{turn}}}'


_FLAT_DATA: dict[tuple[str, str], str] = {}


def _data_json(data: dict[str, Any]) -> str:
    # Agents tag nearly every line alike ({"source": "stdout"}): encode each such tag once.
    if len(data) == 1:
        ((key, value),) = data.items()
        if type(value) is str:
            cached = _FLAT_DATA.get((key, value))
            if cached is None:
                cached = ',"data":' + _dumps(data)
                if len(_FLAT_DATA) < 256:
                    _FLAT_DATA[(key, value)] = cached
            return cached
    return ',"data":' + _dumps(data)


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
    body = raw.strip(" \t\n\r")  # the whitespace json.loads allows around a value
    if body[:1] != "{":  # not a JSON object: no need to parse it to know
        return _as_log(raw)
    try:
        obj, end = _decode(body)  # json.loads without its Python-level wrapper
    except (ValueError, RecursionError):
        return _as_log(raw)
    if end != len(body) or not isinstance(obj, dict):
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
