"""The host's agent-line parser: shared examples, and any bytes in never raises."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app.events.protocol import LINE_TYPES, parse_line

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "protocol-examples.jsonl"


def test_shared_examples_parse_as_their_own_type() -> None:
    lines = EXAMPLES.read_text().splitlines()
    assert len(lines) >= 8
    seen = set()
    for raw in lines:
        parsed = parse_line(raw)
        original = json.loads(raw)
        assert parsed is not None
        assert parsed.type == original["type"] and parsed.seq == original["seq"]
        assert parsed.data == original.get("data", {})
        seen.add(parsed.type)
    assert seen == LINE_TYPES


def test_non_protocol_lines_become_logs() -> None:
    for raw in (
        "plain text",
        "[1,2]",
        '{"type":"tool_use"}',
        '{"v":2,"seq":0,"type":"log"}',
        '{"v":1,"seq":-1,"type":"log"}',
        '{"v":1,"seq":0,"type":"weird"}',
    ):
        parsed = parse_line(raw)
        assert parsed is not None and parsed.type == "log" and parsed.seq is None
        assert parsed.text == raw
    assert parse_line("   \n") is None


def test_huge_text_is_clipped() -> None:
    parsed = parse_line(json.dumps({"v": 1, "seq": 1, "type": "log", "text": "x" * 100_000}))
    assert parsed is not None and parsed.text is not None and len(parsed.text) < 17_000


@given(st.binary(max_size=2000))
def test_any_bytes_never_raise(raw: bytes) -> None:
    parsed = parse_line(raw)
    assert parsed is None or parsed.type in LINE_TYPES


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_never_raises(value: object) -> None:
    parsed = parse_line(json.dumps(value))
    assert parsed is None or parsed.type in LINE_TYPES
    if parsed is not None and parsed.type != "log":
        assert isinstance(parsed.seq, int) and parsed.seq >= 0
