"""Translation of Claude Code stream-json messages into protocol lines."""

from __future__ import annotations

import json
from typing import Any

from aideator_agent.protocol import build_line, validate_line
from aideator_agent.tool_summary import summarize_tool_use
from aideator_agent.translate import AgentLine, StreamTranslator

WORKDIR = "/workspace"


def assistant(*blocks: dict[str, Any], msg_id: str = "msg_1", **usage: int) -> str:
    message: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": "scripted/fix-correct",
        "content": list(blocks),
        "stop_reason": None,
    }
    if usage:
        message["usage"] = usage
    return json.dumps({"type": "assistant", "message": message, "session_id": "s1"})


def tool_result(tool_use_id: str, content: Any, *, is_error: bool = False) -> str:
    block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if is_error:
        block["is_error"] = True
    return json.dumps({"type": "user", "message": {"role": "user", "content": [block]}})


def valid(lines: list[AgentLine]) -> list[AgentLine]:
    for seq, line in enumerate(lines):
        assert validate_line(build_line(seq, line.type, line.text, line.data)) == [], line
    return lines


class TestAssistantMessages:
    def test_text_block(self) -> None:
        lines = valid(StreamTranslator().feed_line(assistant({"type": "text", "text": "Looking."})))
        assert lines == [AgentLine("assistant_text", "Looking.")]

    def test_blank_text_is_skipped(self) -> None:
        assert StreamTranslator().feed_line(assistant({"type": "text", "text": "  \n"})) == []

    def test_tool_use_block(self) -> None:
        block = {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "Edit",
            "input": {"file_path": "/workspace/calc.py", "old_string": "-", "new_string": "+"},
        }
        lines = valid(StreamTranslator(WORKDIR).feed_line(assistant(block)))
        assert lines == [
            AgentLine(
                "tool_use",
                "Edit calc.py",
                {"id": "toolu_1", "name": "Edit", "input": block["input"]},
            )
        ]

    def test_text_then_tool_use_keep_order(self) -> None:
        line = assistant(
            {"type": "text", "text": "Fixing."},
            {"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "pytest -q"}},
        )
        lines = StreamTranslator().feed_line(line)
        assert [(item.type, item.text) for item in lines] == [
            ("assistant_text", "Fixing."),
            ("tool_use", "Bash pytest -q"),
        ]

    def test_thinking_is_a_log_line(self) -> None:
        line = assistant({"type": "thinking", "thinking": "hmm", "signature": "x"})
        assert StreamTranslator().feed_line(line) == [
            AgentLine("log", "hmm", {"source": "thinking"})
        ]


class TestToolResults:
    def test_string_content(self) -> None:
        lines = valid(StreamTranslator().feed_line(tool_result("toolu_1", "ok\n")))
        assert lines == [
            AgentLine("tool_result", "ok\n", {"tool_use_id": "toolu_1", "is_error": False})
        ]

    def test_block_content_and_error_flag(self) -> None:
        content = [{"type": "text", "text": "line 1"}, {"type": "image", "source": {}}]
        lines = StreamTranslator().feed_line(tool_result("t2", content, is_error=True))
        assert lines == [
            AgentLine("tool_result", "line 1\n[image]", {"tool_use_id": "t2", "is_error": True})
        ]

    def test_long_output_is_truncated_to_4000_chars(self) -> None:
        lines = valid(StreamTranslator().feed_line(tool_result("t3", "x" * 10_000)))
        assert len(lines[0].text or "") == 4000
        assert lines[0].data == {"tool_use_id": "t3", "is_error": False, "truncated": True}


class TestUsage:
    def test_usage_is_cumulative_across_messages(self) -> None:
        translator = StreamTranslator()
        first = translator.feed_line(
            assistant(
                {"type": "text", "text": "a"}, msg_id="m1", input_tokens=100, output_tokens=10
            )
        )
        second = translator.feed_line(
            assistant({"type": "text", "text": "b"}, msg_id="m2", input_tokens=50, output_tokens=5,
                      cache_read_input_tokens=7)
        )  # fmt: skip
        assert first[-1] == AgentLine(
            "usage",
            None,
            {"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0},
        )  # fmt: skip
        assert second[-1].data == {
            "input_tokens": 150,
            "output_tokens": 15,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 7,
        }

    def test_repeated_blocks_of_one_message_are_not_double_counted(self) -> None:
        translator = StreamTranslator()
        usage = {"input_tokens": 100, "output_tokens": 20}
        translator.feed_line(assistant({"type": "text", "text": "a"}, msg_id="m1", **usage))
        again = translator.feed_line(
            assistant(
                {"type": "tool_use", "id": "t", "name": "Read", "input": {}}, msg_id="m1", **usage
            )
        )
        assert [line.type for line in again] == ["tool_use"]  # no new usage line
        assert translator.usage["input_tokens"] == 100

    def test_result_message_sets_final_totals(self) -> None:
        translator = StreamTranslator()
        translator.feed_line(
            assistant({"type": "text", "text": "a"}, input_tokens=10, output_tokens=1)
        )
        result = {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": 3,
            "duration_ms": 1200,
            "result": "Done.",
            "total_cost_usd": 0.01,
            "usage": {"input_tokens": 300, "output_tokens": 40, "cache_read_input_tokens": 5},
        }
        lines = valid(translator.feed_line(json.dumps(result)))
        assert lines[0].type == "usage"
        assert lines[0].data == {
            "input_tokens": 300,
            "output_tokens": 40,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 5,
        }
        assert lines[1].type == "log"
        assert lines[1].text == "claude-code finished: success, 3 turn(s)"
        assert not any(line.type == "error" for line in lines)


class TestErrorsAndOddInput:
    def test_error_result_becomes_error_line(self) -> None:
        result = {"type": "result", "subtype": "error_max_turns", "is_error": True, "num_turns": 2}
        lines = valid(StreamTranslator().feed_line(json.dumps(result)))
        assert lines[-1] == AgentLine(
            "error", "claude-code failed: error_max_turns", {"code": "agent_failed"}
        )

    def test_budget_exhausted_api_error(self) -> None:
        text = (
            'API Error: 402 {"type":"error","error":{"type":"billing_error",'
            '"message":"budget exhausted: run budget 0.50 USD spent (0.5100 USD)"}}'
        )
        translator = StreamTranslator()
        message = json.loads(assistant({"type": "text", "text": text}))
        message["error"] = "billing_error"
        message["message"]["model"] = "<synthetic>"
        lines = valid(translator.feed_message(message))
        assert lines == [AgentLine("error", text, {"code": "budget_exhausted"})]
        result = {"type": "result", "subtype": "success", "is_error": True, "result": text}
        later = translator.feed_line(json.dumps(result))
        assert [line.data for line in later if line.type == "error"] == [{"code": "agent_failed"}]

    def test_other_api_error_is_not_budget(self) -> None:
        message = json.loads(assistant({"type": "text", "text": "API Error: 500 overloaded"}))
        message["error"] = "unknown"
        lines = StreamTranslator().feed_message(message)
        assert lines == [AgentLine("error", "API Error: 500 overloaded", {"code": "api_error"})]

    def test_budget_message_on_stderr(self) -> None:
        lines = StreamTranslator().feed_stderr("Error: budget exhausted for this run\n")
        assert [line.type for line in lines] == ["log", "error"]
        assert lines[0].data == {"source": "stderr"}
        assert lines[1].data == {"code": "budget_exhausted"}

    def test_system_init_is_a_log_line(self) -> None:
        init = {"type": "system", "subtype": "init", "model": "m", "tools": ["Read", "Edit"]}
        lines = valid(StreamTranslator().feed_line(json.dumps(init)))
        assert lines == [
            AgentLine(
                "log",
                "claude-code session started (model m, 2 tools)",
                {"source": "claude", "subtype": "init", "model": "m"},
            )
        ]

    def test_unknown_message_type_is_logged(self) -> None:
        lines = valid(StreamTranslator().feed_line('{"type": "rate_limit_event", "x": 1}'))
        assert len(lines) == 1 and lines[0].type == "log"
        assert "rate_limit_event" in (lines[0].text or "")

    def test_garbage_and_non_object_lines_are_logged(self) -> None:
        translator = StreamTranslator()
        assert translator.feed_line("not json at all {") == [
            AgentLine("log", "not json at all {", {"source": "claude"})
        ]
        assert translator.feed_line("[1, 2]")[0].type == "log"
        assert translator.feed_line("   ") == []

    def test_malformed_known_types_never_raise(self) -> None:
        translator = StreamTranslator()
        for odd in (
            {"type": "assistant"},
            {"type": "assistant", "message": {"content": [1, None, {"type": "tool_use"}]}},
            {"type": "assistant", "message": "oops"},
            {"type": "user", "message": {"content": [{"type": "tool_result"}]}},
            {"type": "user", "message": None},
            {"type": "result", "usage": "many"},
            {"type": "system"},
        ):
            for line in translator.feed_message(odd):
                assert validate_line(build_line(0, line.type, line.text, line.data)) == []


class TestToolSummary:
    def test_summaries(self) -> None:
        assert (
            summarize_tool_use("Read", {"file_path": "/workspace/a/b.py"}, WORKDIR) == "Read a/b.py"
        )
        assert summarize_tool_use("Write", {"file_path": "/etc/x"}, WORKDIR) == "Write /etc/x"
        assert summarize_tool_use("Bash", {"command": "cd x\npytest"}) == "Bash cd x…"
        assert summarize_tool_use(
            "Grep", {"pattern": "def add", "path": "/workspace/src"}, WORKDIR
        ) == ("Grep def add in src")
        assert summarize_tool_use("TodoWrite", {"todos": [1, 2]}) == "TodoWrite 2 item(s)"
        assert summarize_tool_use("Mystery", {}) == "Mystery"
        long = summarize_tool_use("Mystery", {"blob": "y" * 1000})
        assert long.startswith('Mystery {"blob"') and len(long) == 200
