"""Usage meters: JSON bodies and SSE streams cut into chunks anywhere."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from app.gateway.usage import SseUsageMeter, Usage, UsageMeter


def _event(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


STREAM = b"".join(
    [
        _event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "model": "claude-opus-4-5-20251101",
                    "usage": {
                        "input_tokens": 10,
                        "output_tokens": 1,
                        "cache_creation_input_tokens": 300,
                        "cache_read_input_tokens": 4000,
                        "cache_creation": {
                            "ephemeral_5m_input_tokens": 100,
                            "ephemeral_1h_input_tokens": 200,
                        },
                    },
                },
            },
        ),
        _event("ping", {"type": "ping"}),
        _event(
            "content_block_delta",
            {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi\n\n"}},
        ),
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "usage": {"output_tokens": 77, "server_tool_use": {"web_search_requests": 2}},
            },
        ),
        _event("message_stop", {"type": "message_stop"}),
    ]
)
EXPECTED = Usage(
    input_tokens=10,
    output_tokens=77,
    cache_creation_input_tokens=300,
    cache_read_input_tokens=4000,
)


class TestSseUsageMeter:
    def test_whole_stream(self) -> None:
        meter = SseUsageMeter()
        meter.feed(STREAM)
        assert meter.seen
        assert meter.model == "claude-opus-4-5-20251101"
        assert meter.usage() == EXPECTED
        assert meter.cache_write_1h_tokens == 200
        assert meter.web_search_requests == 2

    @given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
    def test_any_chunking_gives_the_same_usage(self, cuts: list[int]) -> None:
        meter = SseUsageMeter()
        edges = [0, *sorted(cuts), len(STREAM)]
        for start, end in itertools.pairwise(edges):
            meter.feed(STREAM[start:end])
        assert meter.usage() == EXPECTED
        assert meter.model == "claude-opus-4-5-20251101"

    @given(st.integers(min_value=1, max_value=len(STREAM) * 2))
    def test_crlf_line_endings_split_anywhere(self, cut: int) -> None:
        crlf = STREAM.replace(b"\n", b"\r\n")
        meter = SseUsageMeter()
        meter.feed(crlf[:cut])
        meter.feed(crlf[cut:])
        assert meter.usage() == EXPECTED

    def test_data_only_events_and_garbage_are_tolerated(self) -> None:
        meter = SseUsageMeter()
        meter.feed(b"data: not json\n\n: comment\n\n")
        meter.feed(b'data: {"type":"message_delta","usage":{"output_tokens":5}}\n\n')
        assert meter.usage() == Usage(output_tokens=5)

    def test_unfinished_stream_keeps_what_arrived(self) -> None:
        meter = SseUsageMeter()
        meter.feed(STREAM[: STREAM.index(b"event: ping")])
        assert meter.usage() == Usage(10, 1, 300, 4000)

    def test_no_usage_events_means_not_seen(self) -> None:
        meter = SseUsageMeter()
        meter.feed(_event("error", {"type": "error", "error": {"type": "overloaded_error"}}))
        assert not meter.seen
        assert meter.usage() == Usage()


class TestUsageMeter:
    def test_json_body(self) -> None:
        meter = UsageMeter()
        body = {"model": "claude-haiku-4-5", "usage": {"input_tokens": 3, "output_tokens": 4}}
        meter.observe_json_body(json.dumps(body).encode())
        assert meter.model == "claude-haiku-4-5"
        assert meter.usage() == Usage(input_tokens=3, output_tokens=4)

    def test_bad_values_are_ignored(self) -> None:
        meter = UsageMeter()
        meter.observe_usage(
            {"input_tokens": -1, "output_tokens": True, "cache_read_input_tokens": 2}
        )
        meter.observe_json_body(b"[1, 2]")
        meter.observe_json_body(b"<html>")
        assert meter.usage() == Usage(cache_read_input_tokens=2)


def test_usage_adds_and_serializes() -> None:
    total = Usage(1, 2, 3, 4) + Usage(10, 20, 30, 40)
    assert total == Usage(11, 22, 33, 44)
    assert total.prompt_tokens == 11 + 33 + 44
    assert total.as_dict() == {
        "input_tokens": 11,
        "output_tokens": 22,
        "cache_creation_input_tokens": 33,
        "cache_read_input_tokens": 44,
    }
