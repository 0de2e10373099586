"""A follow-up turn resumes Claude Code's session: the spec field, the argv, the session id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aideator_agent.claude_cli import claude_argv, claude_env, session_store
from aideator_agent.spec import SpecError, parse_spec
from aideator_agent.translate import StreamTranslator

SESSION = "0f6c2d9e-1b7a-4c55-9a0e-2b8f1d3c4e5f"


def test_resume_session_becomes_resume_flag() -> None:
    spec = parse_spec({"prompt": "more", "resume_session": SESSION})
    argv, _ = claude_argv("/bin/claude", spec)
    assert argv[argv.index("--resume") + 1] == SESSION
    fresh, _ = claude_argv("/bin/claude", parse_spec({"prompt": "first"}))
    assert "--resume" not in fresh


@pytest.mark.parametrize("bad", ["--help", "a b", "x;rm", 3])
def test_resume_session_must_look_like_an_id(bad: object) -> None:
    with pytest.raises(SpecError, match="resume_session"):
        parse_spec({"prompt": "p", "resume_session": bad})


def test_session_store_lives_in_the_git_folder(tmp_path: Path) -> None:
    assert session_store(tmp_path) is None, "no .git folder: nowhere to keep it"
    (tmp_path / ".git").mkdir()
    store = session_store(tmp_path)
    assert store == tmp_path / ".git" / "aideator-claude"
    assert claude_env({"PATH": "/bin"}, None, store)["CLAUDE_CONFIG_DIR"] == str(store)
    assert "CLAUDE_CONFIG_DIR" not in claude_env({"PATH": "/bin"})


def test_translator_records_the_session_id() -> None:
    translator = StreamTranslator()
    init = {"type": "system", "subtype": "init", "session_id": SESSION, "model": "m"}
    lines = translator.feed_line(json.dumps(init))
    assert translator.session_id == SESSION
    assert lines[0].data["session_id"] == SESSION
