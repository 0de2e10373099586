"""`stream-agent` follow-ups: one call's `workspace` and `session` feed the next call's
`--source` and `--session`. Read offline from the lazily built chains (no engine): the
exec's output and two engine reads (the image's user, the session-id file) are replaced.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aideator_dagger import agent_run, main
from aideator_dagger.agent_run import AgentRun
from aideator_dagger.session import SESSION_DIR, SESSION_ID_FILE
from dagger_chain import calls, render, spec_file, steps

import dagger
from dagger import dag

SESSION_ID = "0b7c6d1e-2f3a-4b5c-8d9e-a0b1c2d3e4f5"
RESULT_LINE = json.dumps(
    {"type": "result", "data": {"exit_code": 0, "diff": "+x\n", "session_id": SESSION_ID}}
)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[dagger.Container]:
    """Agent execs are recorded, not run; they print one result line with a session id."""
    seen: list[dagger.Container] = []

    async def user(self: dagger.Container) -> str:
        return "agent"

    async def stdout_and_exit_code(ran: dagger.Container) -> tuple[str, int]:
        seen.append(ran)
        return RESULT_LINE + "\n", 0

    monkeypatch.setattr(dagger.Container, "user", user)
    monkeypatch.setattr(agent_run, "stdout_and_exit_code", stdout_and_exit_code)
    return seen


def _session_file(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    async def contents(self: dagger.File, **_: Any) -> str:
        return text

    monkeypatch.setattr(dagger.File, "contents", contents)


async def _first(**extra: Any) -> AgentRun:
    run: AgentRun = await main.Aideator().stream_agent(
        agent_source=dag.directory(),
        prompt="Fix the failing test.",
        source=dag.directory(),
        **extra,
    )
    return run


async def test_a_call_exports_its_tree_and_session(offline: list[dagger.Container]) -> None:
    first = await _first()
    (ran,) = offline
    tree = steps(first.workspace)
    assert [(s.name, s.args) for s in tree[-2:]] == [
        ("directory", {"path": "/workspace"}),
        ("withoutDirectory", {"path": ".git"}),
    ]
    assert render(first.workspace).startswith(render(ran))  # the files the agent left
    session = steps(first.session)
    assert render(first.session).startswith(render(ran))
    assert ["mkdir", "-p", SESSION_DIR] in [c["args"] for c in calls(first.session, "withExec")]
    assert {"path": SESSION_DIR} in [s.args for s in session if s.name == "directory"]
    written = steps(first.session)[-1]  # last: the id, next to the session files
    assert written.name == "withNewFile"
    assert (written.args["path"], written.args["contents"]) == (SESSION_ID_FILE, SESSION_ID)


async def test_a_follow_up_resumes_the_session_in_the_earlier_tree(
    offline: list[dagger.Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _first()
    _session_file(monkeypatch, SESSION_ID + "\n")
    await main.Aideator().stream_agent(
        agent_source=dag.directory(),
        prompt="Also add midrange().",
        source=first.workspace,
        session=first.session,
    )
    _, follow_up = offline
    assert json.loads(spec_file(follow_up))["resume_session"] == SESSION_ID
    mounts = calls(follow_up, "withDirectory")
    workspace = next(m for m in mounts if m["path"] == "/workspace")
    # --source is committed as the base: its chain starts from the first call's files.
    assert render(first.workspace) in render(workspace["source"])
    (restored,) = [m for m in mounts if m["path"] == SESSION_DIR]
    assert restored["source"] is first.session and restored["owner"] == "agent"
    assert mounts.index(restored) > mounts.index(workspace), "on top of the tree"


async def test_without_session_nothing_is_resumed(offline: list[dagger.Container]) -> None:
    await _first()
    (ran,) = offline
    assert "resume_session" not in json.loads(spec_file(ran))
    assert all(m["path"] != SESSION_DIR for m in calls(ran, "withDirectory"))


async def test_bad_sessions_are_refused(
    offline: list[dagger.Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    _session_file(monkeypatch, "")
    with pytest.raises(ValueError, match="no session id"):
        await _first(session=dag.directory())
    with pytest.raises(ValueError, match="resumes a Claude Code session"):
        await _first(session=dag.directory(), agent="command", command=["true"])
    assert offline == []
