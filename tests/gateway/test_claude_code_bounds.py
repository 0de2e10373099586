"""The real Claude Code CLI plays every shipped scenario through the gateway's default rules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.gateway import Gateway
from app.scripted_model import create_app
from app.scripted_model.scenarios import load_scenarios
from tests.scripted_model.claude_cli import (
    CLAUDE_BIN,
    expected_tree,
    first_prompt_turns,
    git_copy,
    run,
    tree,
)
from tests.scripted_model.conftest import serve

from .conftest import Sinks

pytestmark = pytest.mark.skipif(not CLAUDE_BIN.exists(), reason="bundled Claude Code missing")


@pytest.fixture(scope="module")
def scripted_upstream() -> Iterator[str]:
    """The scripted model with the shipped scenarios, behind the gateway."""
    with serve(create_app()) as url:
        yield url


@pytest.fixture
async def default_gateway(scripted_upstream: str, sinks: Sinks) -> AsyncIterator[Gateway]:
    """A gateway with the default request rules (no `rules=` given)."""
    gw = Gateway(
        upstream_url=scripted_upstream,
        api_key=None,
        on_usage=sinks.on_usage,
        on_budget_exhausted=sinks.on_budget_exhausted,
        on_refusal=sinks.on_refusal,
    )
    await gw.start()
    yield gw
    await gw.stop()


@pytest.mark.parametrize("scenario", sorted(load_scenarios()))
async def test_every_scenario_completes_under_the_default_bounds(
    scenario: str, default_gateway: Gateway, sinks: Sinks, sample_repo: Path, tmp_path: Path
) -> None:
    model = f"scripted/{scenario}"
    default_gateway.open_run("run-cc", budget_usd=None)
    token = default_gateway.issue_token("run-cc", 0, model=model)
    workspace, home = tmp_path / "ws", tmp_path / "home"
    await git_copy(sample_repo, workspace)
    home.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": default_gateway.url,
        "ANTHROPIC_API_KEY": token,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
    }
    done = await run(
        CLAUDE_BIN,
        "-p",
        "Fix the failing test",
        "--model",
        model,
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        cwd=workspace,
        env=env,
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.result()["subtype"] == "success" and done.result()["is_error"] is False
    assert sinks.refusals == [], "the default bounds refused a request of Claude Code"
    turns = len(first_prompt_turns(scenario))
    assert default_gateway.models_used("run-cc", 0) == {model: turns}
    assert tree(workspace) == expected_tree(scenario, sample_repo)
