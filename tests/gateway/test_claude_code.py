"""The real Claude Code CLI through the gateway: metered, then stopped by the run budget."""

from __future__ import annotations

import json
from pathlib import Path

import claude_agent_sdk
import pytest
from structlog.testing import capture_logs

from app.gateway import Gateway
from app.gateway.budget import budget_message
from tests.scripted_model.claude_cli import run

from .conftest import Sinks
from .fake_anthropic import FakeAnthropic

CLAUDE_BIN = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"

pytestmark = pytest.mark.skipif(not CLAUDE_BIN.exists(), reason="bundled Claude Code missing")


async def run_claude(
    gateway: Gateway, token: str, workdir: Path
) -> tuple[int | None, list[dict[str, object]]]:
    home = workdir / "home"
    home.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_API_KEY": token,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
    }
    finished = await run(
        CLAUDE_BIN,
        "-p",
        "What is the weather in Paris?",
        "--output-format",
        "stream-json",
        "--verbose",
        "--model",
        "claude-sonnet-4-5",
        cwd=workdir,
        env=env,
    )
    lines = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    return finished.returncode, lines


async def test_claude_code_is_metered_then_stopped_by_the_budget_without_retrying(
    gateway: Gateway, upstream: FakeAnthropic, sinks: Sinks, tmp_path: Path
) -> None:
    # The first answer asks for a tool, so Claude Code must come back for a second turn;
    # that turn finds the run's budget spent.
    upstream.scenario.tool_use = True
    gateway.open_run("run-cc", budget_usd=0.01)
    token = gateway.issue_token("run-cc", 0, model="claude-sonnet-4-5")
    with capture_logs() as logs:
        returncode, lines = await run_claude(gateway, token, tmp_path)

    result = next(line for line in reversed(lines) if line.get("type") == "result")
    message = budget_message(0.01, gateway.spent_of("run-cc"))
    assert returncode != 0
    assert result["is_error"] is True
    assert result["result"] == f"API Error: 402 {message}"
    assert [(run, v) for run, v, _, _ in sinks.usage] == [("run-cc", 0)]
    assert sinks.usage[0][2].output_tokens == 345
    assert sinks.budget == [("run-cc", 0, message)]
    served = [entry for entry in logs if entry["event"] == "gateway.response"]
    refused = [entry for entry in logs if entry["event"] == "gateway.budget_exhausted"]
    assert [entry["status"] for entry in served] == [200]
    assert len(refused) == 1, "Claude Code retried a budget refusal"
    assert [seen.path for seen in upstream.seen] == ["/v1/messages"]
