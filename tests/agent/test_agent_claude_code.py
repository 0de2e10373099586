"""Kind `claude-code`: the recorded transcript, a stand-in CLI, and the real CLI end to end."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_harness import REPO_ROOT, AgentRun, git, run_agent
from aideator_agent.protocol import build_line, validate_line, validate_stream
from aideator_agent.translate import StreamTranslator

TRANSCRIPT = REPO_ROOT / "tests" / "fixtures" / "claude-stream-json" / "fix-correct.jsonl"
SAMPLE_REPO = REPO_ROOT / "examples" / "sample-repo"
API_KEY = "gateway-placeholder-key-0123456789"

# A stand-in for the CLI: records how it was called, then replays a transcript.
FAKE_CLI = """\
import json, os, sys
if "--version" in sys.argv:
    print("9.9.9 (Claude Code)")
    sys.exit(0)
stdin = sys.stdin.read()
keys = ("IS_SANDBOX", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY", "RELAY_TOKEN", "RELAY_URL", "AIDEATOR_SPEC", "HOME")
record = {"argv": sys.argv, "env": {k: os.environ.get(k) for k in keys}, "stdin": stdin,
          "cwd": os.getcwd()}
with open(os.environ["FAKE_CLAUDE_RECORD"], "w") as f:
    json.dump(record, f)
with open(os.environ["FAKE_CLAUDE_TRANSCRIPT"]) as f:
    for line in f:
        sys.stdout.write(line)
        sys.stdout.flush()
print("a warning on stderr", file=sys.stderr)
open("made-by-fake.txt", "w").write("hello\\n")
sys.exit(int(os.environ.get("FAKE_CLAUDE_EXIT", "0")))
"""


def transcript_lines() -> list[str]:
    return TRANSCRIPT.read_text().splitlines()


def assert_tool_calls_paired(lines: list[dict[str, Any]]) -> None:
    """Every tool_result follows the tool_use it answers; every tool_use gets a result."""
    used: list[str] = []
    answered: list[str] = []
    for line in lines:
        if line["type"] == "tool_use":
            used.append(line["data"]["id"])
        elif line["type"] == "tool_result":
            assert line["data"]["tool_use_id"] in used, line
            answered.append(line["data"]["tool_use_id"])
    assert used and sorted(used) == sorted(answered)


class TestRecordedTranscript:
    def test_translates_the_fix_correct_transcript(self) -> None:
        translator = StreamTranslator(workdir="/workspace")
        produced = [line for raw in transcript_lines() for line in translator.feed_line(raw)]
        lines = [build_line(i, item.type, item.text, item.data) for i, item in enumerate(produced)]

        for line in lines:
            assert validate_line(line) == [], line
        assert_tool_calls_paired(lines)
        tools = [line["text"] for line in lines if line["type"] == "tool_use"]
        assert tools == [
            "Read tests/test_summary.py",
            "Read numstats/summary.py",
            "Edit numstats/summary.py",
            "Bash python3 -m unittest -q 2>&1 | tail -n 15",
        ]
        texts = [line["text"] for line in lines if line["type"] == "assistant_text"]
        assert texts[0].startswith("I'll start by reading") and len(texts) == 4
        final = json.loads(transcript_lines()[-1])
        assert translator.usage["input_tokens"] == final["usage"]["input_tokens"]
        assert translator.usage["output_tokens"] == final["usage"]["output_tokens"]
        assert not [line for line in lines if line["type"] == "error"]


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    path = tmp_path / "fake-claude"
    path.write_text(f"#!{sys.executable}\n{FAKE_CLI}")
    path.chmod(0o755)
    return path


def run_with_fake(
    repo: Path, fake: Path, spec: dict[str, Any], transcript: list[str], exit_code: int = 0
) -> tuple[AgentRun, dict[str, Any]]:
    record = repo.parent / "fake-record.json"
    replay = repo.parent / "fake-transcript.jsonl"
    replay.write_text("".join(line + "\n" for line in transcript))
    env = {
        "AIDEATOR_CLAUDE_BIN": str(fake),
        "FAKE_CLAUDE_RECORD": str(record),
        "FAKE_CLAUDE_TRANSCRIPT": str(replay),
        "FAKE_CLAUDE_EXIT": str(exit_code),
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/gateway",
        "ANTHROPIC_API_KEY": API_KEY,
        "RELAY_TOKEN": "relay-token-not-for-the-cli",
    }
    # Specs go through a file: one environment string is limited to 128 KiB on Linux.
    spec_file = repo.parent / "spec.json"
    spec_file.write_text(json.dumps(spec))
    run = run_agent(None, repo, env=env, args=["--spec-file", str(spec_file)])
    return run, json.loads(record.read_text())


class TestStandInCli:
    def test_command_line_environment_and_translation(self, repo: Path, fake_cli: Path) -> None:
        spec = {
            "prompt": "Fix the failing test",
            "model": "scripted/fix-correct",
            "max_turns": 7,
            "system_prompt_append": "Be brief.",
        }
        run, called = run_with_fake(repo, fake_cli, spec, transcript_lines())

        assert called["argv"][1:] == [
            "-p",
            "Fix the failing test",
            "--output-format",
            "stream-json",
            "--verbose",
            "--model",
            "scripted/fix-correct",
            "--max-turns",
            "7",
            "--append-system-prompt=Be brief.",
            "--dangerously-skip-permissions",
        ]
        env = called["env"]
        assert env["IS_SANDBOX"] == "1"
        assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
        assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9/gateway"
        assert env["ANTHROPIC_API_KEY"] == API_KEY
        assert env["RELAY_TOKEN"] is None and env["AIDEATOR_SPEC"] is None
        assert Path(called["cwd"]).resolve() == repo.resolve()

        assert run.returncode == 0
        assert validate_stream(run.lines) == []
        assert API_KEY not in run.stdout
        assert run.lines[0]["data"]["claude_code_version"] == "9.9.9"
        assert run.lines[0]["data"]["model"] == "scripted/fix-correct"
        assert_tool_calls_paired(run.lines)
        assert run.logs("stderr") == ["a warning on stderr"]
        result = run.result
        assert result["exit_code"] == 0
        assert result["claude_code_version"] == "9.9.9"
        assert (
            result["usage"]["output_tokens"]
            == json.loads(transcript_lines()[-1])["usage"]["output_tokens"]
        )
        assert run.of_type("usage")[-1]["data"] == result["usage"]
        assert "made-by-fake.txt" in result["diff"]

    def test_budget_exhausted_and_failure_exit(self, repo: Path, fake_cli: Path) -> None:
        error_text = "API Error: 402 budget exhausted: run budget 0.50 USD spent (0.5012 USD)"
        transcript = [
            json.dumps(
                {
                    "type": "assistant",
                    "error": "billing_error",
                    "message": {
                        "id": "m1",
                        "model": "<synthetic>",
                        "content": [{"type": "text", "text": error_text}],
                    },
                }
            ),
            json.dumps(
                {"type": "result", "subtype": "success", "is_error": True, "result": error_text}
            ),
        ]
        run, _ = run_with_fake(repo, fake_cli, {"prompt": "go"}, transcript, exit_code=1)

        assert run.returncode == 0
        assert validate_stream(run.lines) == []
        codes = [line["data"]["code"] for line in run.of_type("error")]
        assert codes[0] == "budget_exhausted"
        assert run.result["exit_code"] == 1

    def test_crash_without_output_is_an_agent_failure(self, repo: Path, fake_cli: Path) -> None:
        run, _ = run_with_fake(repo, fake_cli, {"prompt": "go"}, ["this is not json"], exit_code=3)

        assert run.logs("claude") == ["this is not json"]
        assert run.of_type("error")[-1]["data"] == {"code": "agent_failed"}
        assert run.result["exit_code"] == 3

    def test_huge_or_dash_prompts_go_through_stdin(self, repo: Path, fake_cli: Path) -> None:
        for prompt in ("x" * 150_000, "-rf is not an option"):
            run, called = run_with_fake(repo, fake_cli, {"prompt": prompt}, [])
            assert prompt not in called["argv"]
            assert called["argv"][1:3] == ["-p", "--output-format"]
            assert called["stdin"] == prompt
            assert run.result["exit_code"] == 0

    def test_missing_cli_is_a_setup_failure(self, repo: Path) -> None:
        run = run_agent({"prompt": "go"}, repo, env={"AIDEATOR_CLAUDE_BIN": "/nonexistent/claude"})

        assert run.returncode == 2
        assert validate_stream(run.lines) == []
        assert [line["data"]["code"] for line in run.of_type("error")] == ["claude_not_found"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def scripted_model_url() -> Iterator[str]:
    """`python -m app.scripted_model` on a free 127.0.0.1 port, as a real process."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.scripted_model", "--port", str(port), "--log-level", "warning"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"scripted model did not start: {err[-2000:]}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "sample"
    shutil.copytree(SAMPLE_REPO, repo, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sample")
    return repo


class TestRealClaudeCode:
    def test_fix_correct_against_the_scripted_model(
        self, sample_repo: Path, scripted_model_url: str, tmp_path: Path
    ) -> None:
        home = tmp_path / "home"
        home.mkdir()
        env = {
            "ANTHROPIC_BASE_URL": scripted_model_url,
            "ANTHROPIC_API_KEY": API_KEY,
            "HOME": str(home),
        }
        spec = {"prompt": "Fix the failing test.", "model": "scripted/fix-correct", "max_turns": 10}
        run = run_agent(spec, sample_repo, env=env, timeout=120)

        assert run.returncode == 0, run.stderr
        assert validate_stream(run.lines) == []
        assert run.lines[0]["data"]["claude_code_version"]
        kinds = [line["type"] for line in run.lines]
        assert kinds.index("tool_use") < kinds.index("tool_result")
        assert_tool_calls_paired(run.lines)
        assert "Edit numstats/summary.py" in [line["text"] for line in run.of_type("tool_use")]
        result = run.result
        assert result["exit_code"] == 0
        assert result["diff_stats"] == {"files": 1, "insertions": 1, "deletions": 1}
        assert "+    return (ordered[middle - 1] + ordered[middle]) / 2" in result["diff"]
        assert result["usage"]["input_tokens"] > 0 and result["usage"]["output_tokens"] > 0
        assert API_KEY not in run.stdout
        # The fix is real: the sample repo's tests now pass.
        tests = subprocess.run(
            [sys.executable, "-m", "unittest", "-q"], cwd=sample_repo, capture_output=True
        )
        assert tests.returncode == 0
