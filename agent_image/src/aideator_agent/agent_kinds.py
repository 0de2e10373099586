"""The two agent kinds: an arbitrary command, or the Claude Code CLI."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aideator_agent.child_process import ChildProcess
from aideator_agent.claude_cli import claude_argv, claude_env, needs_home, session_store
from aideator_agent.emitter import LineEmitter
from aideator_agent.protocol import zero_usage
from aideator_agent.spec import AgentSpec
from aideator_agent.translate import AgentLine, StreamTranslator

# Exit statuses a shell uses when a program is missing or not executable.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


@dataclass
class AgentOutcome:
    """How the agent's own process ended."""

    exit_code: int
    usage: dict[str, int] = field(default_factory=zero_usage)
    errors_reported: int = 0
    session_id: str | None = None  # the Claude Code session, to resume in a follow-up turn


def _write(emitter: LineEmitter, lines: list[AgentLine], outcome: AgentOutcome) -> None:
    for line in lines:
        emitter.emit(line.type, line.text, line.data)
        if line.type == "error":
            outcome.errors_reported += 1


def _start_failure(emitter: LineEmitter, what: str, exc: OSError) -> AgentOutcome:
    missing = isinstance(exc, FileNotFoundError)
    code = "not_found" if missing else "not_executable"
    emitter.emit("error", f"cannot start {what}: {exc.strerror or exc}", {"code": code})
    return AgentOutcome(EXIT_NOT_FOUND if missing else EXIT_NOT_EXECUTABLE, errors_reported=1)


def command_env(base: Mapping[str, str], spec: AgentSpec) -> dict[str, str]:
    """Environment for a command agent: the agent's own minus relay secrets, plus the prompt."""
    env = {
        key: value
        for key, value in base.items()
        if key not in ("RELAY_TOKEN", "RELAY_URL", "AIDEATOR_SPEC")
    }
    env["AIDEATOR_PROMPT"] = spec.prompt
    return env


async def run_command(
    spec: AgentSpec, workdir: Path, emitter: LineEmitter, child: ChildProcess
) -> AgentOutcome:
    """Run `spec.command`, relaying each output line as a `log` line."""
    try:
        exit_code = await child.run(
            spec.command,
            cwd=workdir,
            env=command_env(os.environ, spec),
            on_stdout=lambda text: emitter.emit("log", text, {"source": "stdout"}),
            on_stderr=lambda text: emitter.emit("log", text, {"source": "stderr"}),
            batch=emitter.deferred,
        )
    except OSError as exc:
        return _start_failure(emitter, "command", exc)
    return AgentOutcome(exit_code)


async def run_claude_code(
    spec: AgentSpec, workdir: Path, emitter: LineEmitter, child: ChildProcess, binary: str
) -> AgentOutcome:
    """Run Claude Code headless and translate its stream-json output as it comes."""
    translator = StreamTranslator(workdir=str(workdir))
    outcome = AgentOutcome(exit_code=0)
    argv, stdin = claude_argv(binary, spec)
    home = (
        tempfile.TemporaryDirectory(prefix="aideator-home-", ignore_cleanup_errors=True)
        if needs_home(os.environ)
        else None
    )
    store = session_store(workdir)
    if store is not None:
        try:
            store.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            store = None  # the session stays in HOME: this turn works, no follow-up can resume
    try:
        outcome.exit_code = await child.run(
            argv,
            cwd=workdir,
            env=claude_env(os.environ, home.name if home else None, store),
            on_stdout=lambda raw: _write(emitter, translator.feed_line(raw), outcome),
            on_stderr=lambda raw: _write(emitter, translator.feed_stderr(raw), outcome),
            stdin=stdin,
            batch=emitter.deferred,
        )
    except OSError as exc:
        return _start_failure(emitter, "claude-code", exc)
    finally:
        if home is not None:
            home.cleanup()
    outcome.usage = translator.usage
    outcome.session_id = translator.session_id
    if outcome.exit_code != 0 and outcome.errors_reported == 0:
        _write(
            emitter,
            [
                AgentLine(
                    "error", f"claude-code exited {outcome.exit_code}", {"code": "agent_failed"}
                )
            ],
            outcome,
        )
    return outcome
