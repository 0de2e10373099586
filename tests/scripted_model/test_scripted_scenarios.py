"""Scenario files and the stateless turn logic, without a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.scripted_model import list_scenarios, scenario_exists
from app.scripted_model.conversation import (
    MissingWorkingDirectory,
    failed_tool_results,
    scripted_reply,
    turn_index,
    working_directory,
)
from app.scripted_model.scenarios import ScenarioError, load_scenario_file, load_scenarios

BUILT_IN = [
    "fix-alt",
    "fix-bad",
    "fix-correct",
    "fix-then-midrange",
    "no-change",
    "synthesize-median",
]


class TestCatalogue:
    def test_lists_the_built_in_scenarios(self) -> None:
        assert set(BUILT_IN) <= set(list_scenarios())

    @pytest.mark.parametrize("name", ["fix-correct", "scripted/fix-correct", "no-change"])
    def test_known_names_exist(self, name: str) -> None:
        assert scenario_exists(name)

    @pytest.mark.parametrize("name", ["nope", "scripted/nope", "", "../fix-correct"])
    def test_unknown_names_do_not_exist(self, name: str) -> None:
        assert not scenario_exists(name)

    def test_every_edit_matches_the_sample_repo_exactly_once(self, sample_repo: Path) -> None:
        """An Edit whose old_string is missing or ambiguous would fail inside Claude Code."""
        edits = 0
        for scenario in load_scenarios().values():
            for turn in scenario.turns:
                for call in turn.tool_calls:
                    if call.name != "Edit":
                        continue
                    path = call.input["file_path"].replace("{cwd}", str(sample_repo))
                    text = Path(path).read_text()
                    assert text.count(call.input["old_string"]) == 1, (scenario.name, path)
                    edits += 1
        assert edits >= 2

    def test_every_path_is_absolute_under_cwd(self) -> None:
        for scenario in load_scenarios().values():
            for turn in scenario.turns:
                for call in turn.tool_calls:
                    if "file_path" in call.input:
                        assert call.input["file_path"].startswith("{cwd}/"), scenario.name


class TestValidation:
    def _write(self, tmp_path: Path, name: str, body: object) -> Path:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(body))
        return path

    def test_last_turn_must_be_text_only(self, tmp_path: Path) -> None:
        body = {"turns": [{"text": "x", "tool_calls": [{"name": "Read", "input": {}}]}]}
        with pytest.raises(ScenarioError, match="last turn"):
            load_scenario_file(self._write(tmp_path, "bad", body))

    def test_middle_turn_needs_tool_calls(self, tmp_path: Path) -> None:
        body = {"turns": [{"text": "a"}, {"text": "b"}]}
        with pytest.raises(ScenarioError, match="turn 0 has no tool calls"):
            load_scenario_file(self._write(tmp_path, "bad", body))

    def test_unknown_keys_are_rejected(self, tmp_path: Path) -> None:
        body = {"turns": [{"text": "a", "tools": []}]}
        with pytest.raises(ScenarioError):
            load_scenario_file(self._write(tmp_path, "bad", body))

    def test_file_names_must_be_plain(self, tmp_path: Path) -> None:
        with pytest.raises(ScenarioError, match="scenario names"):
            load_scenario_file(self._write(tmp_path, "Bad Name", {"turns": [{"text": "a"}]}))

    def test_name_comes_from_the_file(self, tmp_path: Path) -> None:
        scenario = load_scenario_file(self._write(tmp_path, "hello", {"turns": [{"text": "a"}]}))
        assert scenario.name == "hello"


class TestTurns:
    def test_turn_is_the_number_of_assistant_messages(self) -> None:
        messages = [
            {"role": "user", "content": "fix it"},
            {"role": "system", "content": "env"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ]
        assert turn_index(messages) == 2
        assert turn_index([{"role": "user", "content": "x"}]) == 0

    def test_working_directory_from_a_system_role_message(self) -> None:
        messages = [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "# Env\n - Primary working directory: /workspace\n"}
                ],
            },
        ]
        assert working_directory(None, messages) == "/workspace"

    def test_working_directory_from_the_system_prompt(self) -> None:
        system = [{"type": "text", "text": "Primary working directory: /a b/c  \nmore"}]
        assert working_directory(system, []) == "/a b/c"
        assert working_directory("nothing here", []) is None

    def test_reply_fills_cwd_and_numbers_tool_ids(self) -> None:
        scenario = load_scenarios()["fix-correct"]
        reply = scripted_reply(scenario, 0, cwd="/workspace", tools_offered=True)
        assert reply.stop_reason == "tool_use"
        calls = [block for block in reply.content if block["type"] == "tool_use"]
        assert [c["input"]["file_path"] for c in calls] == [
            "/workspace/tests/test_summary.py",
            "/workspace/numstats/summary.py",
        ]
        assert [c["id"] for c in calls] == ["toolu_scripted_00_00", "toolu_scripted_00_01"]

    def test_last_turn_ends_the_conversation(self) -> None:
        scenario = load_scenarios()["fix-correct"]
        last = len(scenario.turns) - 1
        reply = scripted_reply(scenario, last, cwd="/w", tools_offered=True)
        assert reply.stop_reason == "end_turn"
        assert [block["type"] for block in reply.content] == ["text"]
        beyond = scripted_reply(scenario, last + 5, cwd="/w", tools_offered=True)
        assert beyond.stop_reason == "end_turn"

    def test_missing_cwd_is_an_error_not_a_literal_placeholder(self) -> None:
        scenario = load_scenarios()["fix-correct"]
        with pytest.raises(MissingWorkingDirectory):
            scripted_reply(scenario, 0, cwd=None, tools_offered=True)

    def test_side_request_without_tools_gets_text(self) -> None:
        scenario = load_scenarios()["fix-correct"]
        reply = scripted_reply(scenario, 0, cwd="/w", tools_offered=False)
        assert reply.stop_reason == "end_turn"
        assert reply.content[0]["type"] == "text"

    def test_failed_tool_results_of_the_newest_message(self) -> None:
        messages = [
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "old", "is_error": True}],
            },
            {"role": "assistant", "content": "x"},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "a", "content": "fine"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "b",
                        "is_error": True,
                        "content": [{"type": "text", "text": "not found"}],
                    },
                ],
            },
        ]
        failures = failed_tool_results(messages)
        assert [(f.tool_use_id, f.text) for f in failures] == [("b", "not found")]


class TestFollowUps:
    def _write(self, tmp_path: Path, body: object) -> Path:
        path = tmp_path / "talk.json"
        path.write_text(json.dumps(body))
        return path

    def test_a_text_turn_may_await_a_follow_up(self, tmp_path: Path) -> None:
        body = {"turns": [{"text": "a", "awaits_follow_up": True}, {"text": "b"}]}
        assert len(load_scenario_file(self._write(tmp_path, body)).turns) == 2

    def test_a_turn_with_tools_cannot_await_a_follow_up(self, tmp_path: Path) -> None:
        call = {"name": "Read", "input": {}}
        body = {"turns": [{"tool_calls": [call], "awaits_follow_up": True}, {"text": "b"}]}
        with pytest.raises(ScenarioError, match="awaits a follow-up"):
            load_scenario_file(self._write(tmp_path, body))
