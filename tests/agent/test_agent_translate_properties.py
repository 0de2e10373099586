"""Property tests: the stream-json translator never raises and never breaks the protocol."""

from __future__ import annotations

import json
from typing import Any

from aideator_agent.protocol import USAGE_FIELDS, build_line, validate_line
from aideator_agent.translate import StreamTranslator
from hypothesis import given, settings
from hypothesis import strategies as st

WORKDIR = "/workspace"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_block = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "tool_use", "tool_result", "thinking", "image", 3])},
    optional={
        "text": _json,
        "id": _json,
        "name": _json,
        "input": _json,
        "content": _json,
        "tool_use_id": _json,
        "is_error": _json,
        "thinking": _json,
    },
)
_message = st.fixed_dictionaries(
    {"type": st.sampled_from(["assistant", "user", "result", "system", "other", None])},
    optional={
        "message": st.fixed_dictionaries(
            {},
            optional={
                "id": _json,
                "model": _json,
                "content": st.lists(_block, max_size=4) | _json,
                "usage": st.dictionaries(st.sampled_from(list(USAGE_FIELDS)), _json) | _json,
            },
        ),
        "usage": _json,
        "subtype": _json,
        "is_error": _json,
        "result": _json,
        "error": _json,
        "num_turns": _json,
    },
)


class TestTranslatorProperties:
    @settings(max_examples=300, deadline=None)
    @given(st.lists(_message, max_size=5))
    def test_any_message_sequence_gives_valid_lines(self, messages: list[dict[str, Any]]) -> None:
        translator = StreamTranslator(WORKDIR)
        before = translator.usage
        for message in messages:
            for line in translator.feed_line(json.dumps(message)):
                assert validate_line(build_line(0, line.type, line.text, line.data)) == []
            now = translator.usage
            assert all(now[name] >= before[name] for name in USAGE_FIELDS)  # never decreases
            before = now

    @settings(max_examples=200, deadline=None)
    @given(st.text())
    def test_any_text_line_is_handled(self, raw: str) -> None:
        for line in StreamTranslator().feed_line(raw):
            assert validate_line(build_line(0, line.type, line.text, line.data)) == []
