"""The agent's protocol validator and emitter, checked against the shared examples."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from agent_harness import REPO_ROOT
from aideator_agent.emitter import LineEmitter
from aideator_agent.protocol import LINE_TYPES, validate_line, validate_stream

EXAMPLES = REPO_ROOT / "docs" / "protocol-examples.jsonl"


def example_lines() -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in EXAMPLES.read_text().splitlines() if raw.strip()]


class TestSharedExamples:
    def test_every_example_line_is_valid(self) -> None:
        for line in example_lines():
            assert validate_line(line) == [], line

    def test_examples_form_a_valid_stream(self) -> None:
        assert validate_stream(example_lines()) == []

    def test_examples_cover_every_type(self) -> None:
        assert {line["type"] for line in example_lines()} == LINE_TYPES

    def test_emitter_reproduces_the_examples(self) -> None:
        out = io.BytesIO()
        emitter = LineEmitter(out)
        for line in example_lines():
            emitter.emit(line["type"], line.get("text"), line.get("data"))
        produced = [json.loads(raw) for raw in out.getvalue().decode().splitlines()]
        assert produced == example_lines()


class TestValidatorRejects:
    @pytest.mark.parametrize(
        ("line", "problem"),
        [
            ([], "JSON object"),
            ({"v": 2, "seq": 0, "type": "log"}, "v must be 1"),
            ({"v": 1, "seq": -1, "type": "log"}, "seq"),
            ({"v": 1, "seq": True, "type": "log"}, "seq"),
            ({"v": 1, "seq": 0, "type": "chatter"}, "unknown type"),
            ({"v": 1, "seq": 0, "type": "log", "text": 5}, "text"),
            ({"v": 1, "seq": 0, "type": "log", "data": []}, "data must be an object"),
            ({"v": 1, "seq": 0, "type": "status", "text": "starting"}, "needs data"),
            ({"v": 1, "seq": 0, "type": "status", "text": "go", "data": {"kind": "x"}}, "status"),
            ({"v": 1, "seq": 0, "type": "tool_use", "data": {"id": "a", "name": "R"}}, "tool_use"),
            (
                {"v": 1, "seq": 0, "type": "tool_result", "text": "x" * 4001,
                 "data": {"tool_use_id": "a", "is_error": False}},
                "longer than",
            ),
            ({"v": 1, "seq": 0, "type": "usage", "data": {"input_tokens": 1}}, "output_tokens"),
            ({"v": 1, "seq": 0, "type": "result", "data": {"exit_code": 0}}, "diff"),
        ],
    )  # fmt: skip
    def test_bad_line(self, line: object, problem: str) -> None:
        problems = validate_line(line)
        assert any(problem in p for p in problems), problems

    def test_stream_rules(self) -> None:
        lines = example_lines()
        assert "seq" in " ".join(validate_stream([lines[0], lines[2]]))
        without_result = [dict(line) for line in lines[:-1]]
        assert any("last line" in p for p in validate_stream(without_result))
        assert validate_stream([]) == ["no lines"]


class TestEmitter:
    def test_seq_counts_from_zero_and_sinks_get_each_line(self) -> None:
        out = io.BytesIO()
        received: list[tuple[int, str]] = []
        emitter = LineEmitter(out)
        emitter.add_sink(lambda seq, line: received.append((seq, line)))
        assert emitter.emit("log", "a", {"source": "stdout"}) == 0
        assert emitter.emit("log", "b") == 1
        assert [seq for seq, _ in received] == [0, 1]
        assert out.getvalue().decode().splitlines() == [line for _, line in received]

    def test_secrets_are_redacted_everywhere(self) -> None:
        out = io.BytesIO()
        emitter = LineEmitter(out, secrets=["sk-placeholder-0123456789", None, "short"])
        emitter.emit("log", "key sk-placeholder-0123456789", {"env": "sk-placeholder-0123456789"})
        emitter.emit("log", "short words stay")
        text = out.getvalue().decode()
        assert "sk-placeholder" not in text
        assert text.count("***") == 2
        assert "short words stay" in text

    def test_non_ascii_text_round_trips(self) -> None:
        out = io.BytesIO()
        LineEmitter(out).emit("assistant_text", "naïve, 完成")
        assert json.loads(out.getvalue())["text"] == "naïve, 完成"
