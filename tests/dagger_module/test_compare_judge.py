"""`compare --judge-model`: the judge's exec in the query chain, and its answer in the report.

Offline like test_compare_after_variations.py: agent and check results are canned, and the
judge exec's stdout (the one engine read of the judge) is given a fixed answer built from
the request the chain carries. The call program itself runs against a loopback server.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aideator_dagger import judge
from aideator_dagger.judge import CALL_PROGRAM, REQUEST_PATH, judge_exec
from dagger_chain import calls, env_vars, render, steps
from test_compare_after_variations import CHECK, PATCHES, _compare, _engine
from test_functions_wiring import engine_reads

import dagger
from dagger import dag

__all__ = ["engine_reads"]

KEY = "sk-judge-secret-0123456789"
MODELS = ["scripted/fix-bad", "scripted/fix-correct", "scripted/fix-alt"]


def _message(content: list[dict[str, Any]], stop: str = "tool_use") -> str:
    body = {
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop,
        "usage": {"input_tokens": 1200, "output_tokens": 80},
    }
    return json.dumps({"status": 200, "body": json.dumps(body), "error": None})


def _tool(tool_input: Any) -> str:
    return _message(
        [{"type": "tool_use", "id": "t1", "name": "rank_variations", "input": tool_input}]
    )


def _ranking(request: dict[str, Any]) -> str:
    """Highest id first, like the scripted judge, read from the request's id enum."""
    ids = request["tools"][0]["input_schema"]["properties"]["ranking"]["items"]["enum"]
    order = sorted(ids, reverse=True)
    notes = [
        {"variation_id": v, "verdict": "strong" if i == 0 else "weak", "rationale": f"r{v}"}
        for i, v in enumerate(order)
    ]
    return _tool({"ranking": order, "variations": notes})


class JudgeExec:
    """Remembers the judge's container; answers with `answer(request)`."""

    def __init__(self, answer: Callable[[dict[str, Any]], str]) -> None:
        self.answer = answer
        self.ran: list[dagger.Container] = []

    async def stdout(self, ran: dagger.Container) -> str:
        self.ran.append(ran)
        return self.answer(request_of(ran))


def request_of(ran: dagger.Container) -> dict[str, Any]:
    files = {c["path"]: c["contents"] for c in calls(ran, "withNewFile")}
    return dict(json.loads(files[REQUEST_PATH]))


def _judge(monkeypatch: pytest.MonkeyPatch, answer: Callable[[dict[str, Any]], str]) -> JudgeExec:
    fake = JudgeExec(answer)
    monkeypatch.setattr(judge, "judge_stdout", fake.stdout)
    return fake


async def test_chain_holds_the_request_and_the_key_only_as_a_secret(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine(monkeypatch)
    seen = _judge(monkeypatch, _ranking)
    await _compare(
        MODELS,
        check_command=CHECK,
        judge_model="claude-opus-4-5",
        judge_instructions="Prefer the smallest change.",
        anthropic_api_key=dag.set_secret("key", KEY),
    )
    (ran,) = seen.ran
    request = request_of(ran)
    assert request["model"] == "claude-opus-4-5"
    assert request["tool_choice"] == {"type": "tool", "name": "rank_variations"}
    schema = request["tools"][0]["input_schema"]["properties"]
    assert schema["ranking"]["items"]["enum"] == [0, 1, 2]
    text = request["messages"][0]["content"]
    for model in MODELS:
        assert PATCHES[model].rstrip("\n") in text
    assert "Prefer the smallest change." in text and "fix the median" in text
    assert "passed (exit 0)" in text and "failed (exit 1)" in text
    secrets = calls(ran, "withSecretVariable")
    assert [s["name"] for s in secrets] == ["ANTHROPIC_API_KEY"]
    assert KEY not in render(ran, opaque_secrets=True)
    env = env_vars(ran)
    assert "ANTHROPIC_API_KEY" not in env
    assert env["ANTHROPIC_BASE_URL"] == "http://gateway:8787"  # the scripted model's service
    assert [s.name for s in steps(ran)][-1] == "withExec"
    (exec_args,) = calls(ran, "withExec")
    assert exec_args["args"][-1] == REQUEST_PATH


async def test_a_good_answer_ranks_and_gives_verdicts(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine(monkeypatch)
    _judge(monkeypatch, _ranking)
    report, files = await _compare(MODELS, check_command=CHECK, judge_model="scripted/judge")
    run_judge = report["run"]["judge"]
    assert run_judge["status"] == "ok" and run_judge["error"] is None
    assert run_judge["usage"] == {"input_tokens": 1200, "output_tokens": 80}
    assert run_judge["cost_usd"] is None  # no price table in the module: said, not guessed
    by_id = {v["variation_id"]: v for v in report["variations"]}
    assert by_id[2]["judge"] == {"rank": 1, "verdict": "strong", "rationale": "r2"}
    assert by_id[0]["judge"]["rank"] == 3
    # Both 1 and 2 pass; the judge's rank decides between them, before diff, cost and time.
    assert report["winner"]["variation_id"] == 2
    assert by_id[2]["score_parts"]["judge_rank"] == 1
    assert "r2" in files["report.md"]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_tool("{not json"), "invalid ranking: invalid JSON in the tool input"),
        (_tool({"ranking": [0, 1], "variations": []}), "invalid ranking: `ranking`: missing [2]"),
        (_message([{"type": "text", "text": "no"}], "end_turn"), "without calling rank_variations"),
        (
            json.dumps({"status": 529, "body": '{"error": {"message": "overloaded"}}'}),
            "HTTP 529: overloaded",
        ),
        (json.dumps({"status": None, "error": "URLError: refused"}), "could not reach"),
        ("Traceback (most recent call last):", "printed no answer"),
    ],
)
async def test_a_failed_judge_is_recorded_and_compare_still_reports(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch, answer: str, error: str
) -> None:
    _engine(monkeypatch)
    _judge(monkeypatch, lambda request: answer)
    report, _ = await _compare(MODELS, check_command=CHECK, judge_model="scripted/judge")
    assert report["run"]["judge"]["status"] == "failed"
    assert error in report["run"]["judge"]["error"]
    assert all(v["judge"] is None for v in report["variations"])
    assert report["winner"]["variation_id"] in (1, 2)  # ranked by the other parts


class _Gateway(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        answer = json.loads(_ranking(json.loads(body)))["body"].encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/gw"
    server.shutdown()
    server.server_close()


def test_the_call_program_posts_the_request_with_the_key(gateway: str, tmp_path: Path) -> None:
    body = {
        "model": "m",
        "tools": [{"input_schema": {"properties": {"ranking": {"items": {"enum": [3, 4]}}}}}],
    }
    (tmp_path / "request.json").write_text(json.dumps(body))
    (tmp_path / "call.py").write_text(CALL_PROGRAM)
    done = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "call.py"), str(tmp_path / "request.json")],
        env={"ANTHROPIC_BASE_URL": gateway, "ANTHROPIC_API_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    raw, usage = judge.tool_input_of(done.stdout)
    assert raw["ranking"] == [4, 3] and usage["output_tokens"] == 80
    path, headers, sent = _Gateway.seen[-1]
    assert path == "/gw/v1/messages" and json.loads(sent) == body
    assert headers["x-api-key"] == KEY and headers["anthropic-version"] == "2023-06-01"


def test_judge_exec_without_key_or_gateway_sets_neither() -> None:
    ran = judge_exec(dag.container(), body={}, api_key=None, gateway=None, cache_bust="x")
    assert calls(ran, "withSecretVariable") == [] and "ANTHROPIC_BASE_URL" not in env_vars(ran)


async def test_with_synthesis_the_judge_is_asked_again_over_every_variation(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine(monkeypatch)
    seen = _judge(monkeypatch, _ranking)
    report, _ = await _compare(
        MODELS,
        check_command=CHECK,
        judge_model="scripted/judge",
        synthesize_top=2,
        synthesis_model="scripted/synthesize-median",
    )
    first, second = (request_of(ran) for ran in seen.ran)
    assert first["tools"][0]["input_schema"]["properties"]["ranking"]["items"]["enum"] == [0, 1, 2]
    text = second["messages"][0]["content"]
    assert second["tools"][0]["input_schema"]["properties"]["ranking"]["items"]["enum"] == [
        0,
        1,
        2,
        3,
    ]
    assert PATCHES["scripted/synthesize-median"].rstrip("\n") in text
    # The first call's ranking (2 before 1) chose and ordered the synthesis sources.
    assert report["run"]["synthesis"]["synthesized_from"] == [2, 1]
    run_judge = report["run"]["judge"]
    assert run_judge["calls"] == 2 and run_judge["status"] == "ok"
    assert run_judge["usage"] == {"input_tokens": 2400, "output_tokens": 160}
    by_id = {v["variation_id"]: v for v in report["variations"]}
    assert by_id[3]["judge"]["rank"] == 1 and report["winner"]["variation_id"] == 3


async def test_a_failed_second_call_keeps_the_first_verdicts(
    engine_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine(monkeypatch)
    answers = iter([_ranking, lambda request: _tool("{not json")])
    _judge(monkeypatch, lambda request: next(answers)(request))
    report, _ = await _compare(
        MODELS,
        check_command=CHECK,
        judge_model="scripted/judge",
        synthesize_top=2,
        synthesis_model="scripted/synthesize-median",
    )
    run_judge = report["run"]["judge"]
    assert run_judge["status"] == "ok" and run_judge["calls"] == 2
    assert run_judge["error"].startswith("second call (after synthesis) failed: invalid ranking")
    by_id = {v["variation_id"]: v for v in report["variations"]}
    assert by_id[2]["judge"]["rank"] == 1 and by_id[3]["judge"] is None
    # The synthesized variation has no judge rank: the part is left out for the whole report.
    assert all("judge_rank" not in v["score_parts"] for v in report["variations"])
