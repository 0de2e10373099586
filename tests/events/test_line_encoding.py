"""The relay's direct encoding of agent lines is the same JSON text as the generic builder."""

from __future__ import annotations

import json

import pytest

from app.events import payloads
from app.events.protocol import AgentLine, parse_line

LINES = [
    AgentLine("log", 3, "hello", {"k": 1}),
    AgentLine("log", None, 'quote " backslash \\ tab \t nl \n é 漢 \u2028 \x01', {"source": "raw"}),
    AgentLine("assistant_text", 0, None, {}),
    AgentLine("tool_use", 2**61, "", {"nested": {"a": [1, 2.5, None, True]}, "ü": "x"}),
    AgentLine("result", 7, "done", {"source": "raw", "extra": 1}),
    parse_line(b"1764636000000000000 12345\n"),
    parse_line('{"v":1,"seq":4,"type":"usage","data":{"input_tokens":5}}'),
    parse_line('  {"v":1,"seq":5,"type":"log","text":42}'),
    parse_line("[1, 2]"),
]


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("turn", [None, 1, 3])
def test_agent_line_matches_agent_output(line: AgentLine | None, turn: int | None) -> None:
    assert line is not None
    fast = payloads.agent_line("r", 4, line, turn)
    generic = payloads.agent_output("r", 4, line.to_payload(4), turn=turn)
    assert fast == generic
    assert fast.payload == generic.payload


def test_non_object_lines_are_logged_verbatim() -> None:
    assert parse_line("  123 abc") == AgentLine("log", None, "  123 abc", {"source": "raw"})
    assert parse_line('"a string"') == AgentLine("log", None, '"a string"', {"source": "raw"})
    assert parse_line("{not json") == AgentLine("log", None, "{not json", {"source": "raw"})


@pytest.mark.parametrize(
    "raw",
    [
        '{"v":1,"seq":1,"type":"log","text":"a"}',
        ' \t{"v":1,"seq":1,"type":"log","text":"a"} \t',
        '{"v":1,"seq":1,"type":"log","text":"a"} trailing',
        '{"v":1,"seq":1,"type":"log","text":"a"}\x0c',
        '\x0c{"v":1,"seq":1,"type":"log","text":"a"}',
        '{"v":1,"seq":1,"type":"log","text":"a"}{}',
        '{"v":1,"seq":2,"type":"log","text":NaN}',
        "{" * 5000,
        "\x0c",
    ],
)
def test_parsing_agrees_with_json_loads(raw: str) -> None:
    """Protocol lines are exactly those json.loads reads as a valid protocol object."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        obj = None
    line = parse_line(raw)
    if not raw.strip():
        assert line is None
    elif isinstance(obj, dict) and obj.get("v") == 1 and isinstance(obj.get("seq"), int):
        assert line is not None and line.seq == obj["seq"]
    else:
        assert line == AgentLine("log", None, raw, {"source": "raw"})
