"""The agent line protocol (version 1): line types, builders and a validator.

The validator is the agent's own reading of docs/protocol.md; the agent's tests run it
over every line the program prints and over the shared examples file.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

PROTOCOL_VERSION = 1
LINE_TYPES = frozenset(
    {"status", "assistant_text", "tool_use", "tool_result", "usage", "log", "error", "result"}
)
STATUS_PHASES = frozenset({"starting", "running", "finishing"})
USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
DIFF_STATS_FIELDS = ("files", "insertions", "deletions")
TOOL_RESULT_MAX_CHARS = 4000


def zero_usage() -> dict[str, int]:
    """Return a usage mapping with every counter at zero."""
    return dict.fromkeys(USAGE_FIELDS, 0)


def build_line(
    seq: int, line_type: str, text: str | None = None, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build one protocol line as a dict (fields in protocol order, empty ones left out)."""
    line: dict[str, Any] = {"v": PROTOCOL_VERSION, "seq": seq, "type": line_type}
    if text is not None:
        line["text"] = text
    if data is not None:
        line["data"] = data
    return line


def encode_line(line: dict[str, Any]) -> str:
    """Serialize a line as compact JSON (no trailing newline)."""
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_FLAT_DATA: dict[tuple[str, str], str] = {}


def encode_fields(
    seq: int, line_type: str, text: str | None = None, data: dict[str, Any] | None = None
) -> str:
    """`encode_line(build_line(...))` without the intermediate dict: the same JSON text.

    Lines are the agent's hot path (a command printing fast); a data tag shared by nearly
    every line ({"source": "stdout"}) is encoded once.
    """
    out = f'{{"v":{PROTOCOL_VERSION},"seq":{seq},"type":{encode_basestring(line_type)}'
    if text is not None:
        out += ',"text":' + encode_basestring(text)
    if data is not None:
        out += ',"data":' + _data_json(data)
    return out + "}"


def _data_json(data: dict[str, Any]) -> str:
    if len(data) == 1:
        ((key, value),) = data.items()
        if type(key) is str and type(value) is str:
            cached = _FLAT_DATA.get((key, value))
            if cached is None:
                cached = _dumps(data)
                if len(_FLAT_DATA) < 64:
                    _FLAT_DATA[(key, value)] = cached
            return cached
    return _dumps(data)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_usage(usage: object, where: str) -> list[str]:
    if not isinstance(usage, dict):
        return [f"{where} must be an object"]
    return [
        f"{where}.{name} must be an int >= 0"
        for name in USAGE_FIELDS
        if not (_is_int(usage.get(name)) and usage[name] >= 0)
    ]


def _check_result(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not (data.get("exit_code") is None or _is_int(data.get("exit_code"))):
        problems.append("result exit_code must be an int or null")
    if not isinstance(data.get("diff"), str):
        problems.append("result diff must be a string")
    stats = data.get("diff_stats")
    if not isinstance(stats, dict) or not all(
        _is_int(stats.get(name)) and stats[name] >= 0 for name in DIFF_STATS_FIELDS
    ):
        problems.append("result diff_stats must hold files/insertions/deletions ints >= 0")
    problems += _check_usage(data.get("usage"), "result usage")
    if not (data.get("cost_usd") is None or _is_number(data.get("cost_usd"))):
        problems.append("result cost_usd must be a number or null")
    if not (_is_number(data.get("duration_seconds")) and data["duration_seconds"] >= 0):
        problems.append("result duration_seconds must be a number >= 0")
    if not isinstance(data.get("agent_version"), str):
        problems.append("result agent_version must be a string")
    version = data.get("claude_code_version")
    if not (version is None or isinstance(version, str)):
        problems.append("result claude_code_version must be a string or null")
    return problems


def _check_data(line_type: str, text: object, data: dict[str, Any]) -> list[str]:
    if line_type == "status":
        problems = [] if text in STATUS_PHASES else [f"status text must be one of {STATUS_PHASES}"]
        if not isinstance(data.get("kind"), str):
            problems.append("status data.kind must be a string")
        return problems
    if line_type == "tool_use":
        ok = (
            isinstance(data.get("id"), str)
            and isinstance(data.get("name"), str)
            and isinstance(data.get("input"), dict)
        )
        return [] if ok else ["tool_use data needs id (str), name (str), input (object)"]
    if line_type == "tool_result":
        ok = isinstance(data.get("tool_use_id"), str) and isinstance(data.get("is_error"), bool)
        problems = [] if ok else ["tool_result data needs tool_use_id (str), is_error (bool)"]
        if isinstance(text, str) and len(text) > TOOL_RESULT_MAX_CHARS:
            problems.append(f"tool_result text longer than {TOOL_RESULT_MAX_CHARS} chars")
        return problems
    if line_type == "usage":
        return _check_usage(data, "usage data")
    if line_type == "result":
        return _check_result(data)
    if line_type in ("log", "error"):
        for key in ("source", "code"):
            if key in data and not isinstance(data[key], str):
                return [f"{line_type} data.{key} must be a string"]
    return []


def validate_line(line: object) -> list[str]:
    """Return the ways a decoded line breaks protocol v1 (an empty list means valid)."""
    if not isinstance(line, dict):
        return ["line must be a JSON object"]
    problems: list[str] = []
    if line.get("v") != PROTOCOL_VERSION or not _is_int(line.get("v")):
        problems.append(f"v must be {PROTOCOL_VERSION}")
    if not (_is_int(line.get("seq")) and line["seq"] >= 0):
        problems.append("seq must be an int >= 0")
    line_type = line.get("type")
    if line_type not in LINE_TYPES:
        return [*problems, f"unknown type {line_type!r}"]
    text = line.get("text")
    if text is not None and not isinstance(text, str):
        problems.append("text must be a string")
    data = line.get("data")
    if data is None:
        if line_type in ("status", "tool_use", "tool_result", "usage", "result"):
            problems.append(f"{line_type} line needs data")
        return problems
    if not isinstance(data, dict):
        return [*problems, "data must be an object"]
    return problems + _check_data(str(line_type), text, data)


def validate_stream(lines: list[dict[str, Any]]) -> list[str]:
    """Check a whole agent output: each line valid, seq 0..n-1, status first, result last."""
    problems: list[str] = []
    for index, line in enumerate(lines):
        problems += [f"line {index}: {problem}" for problem in validate_line(line)]
        if isinstance(line, dict) and line.get("seq") != index:
            problems.append(f"line {index}: seq {line.get('seq')!r} should be {index}")
    if not lines:
        return ["no lines"]
    if lines[0].get("type") != "status" or lines[0].get("text") != "starting":
        problems.append("first line must be status 'starting'")
    if lines[-1].get("type") != "result":
        problems.append("last line must be result")
    if sum(1 for line in lines if line.get("type") == "result") != 1:
        problems.append("exactly one result line expected")
    return problems
