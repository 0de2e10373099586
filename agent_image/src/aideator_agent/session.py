"""One variation from start to result: status lines, the agent, the diff, the result line."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from aideator_agent import __version__
from aideator_agent.agent_kinds import AgentOutcome, run_claude_code, run_command
from aideator_agent.child_process import ChildProcess
from aideator_agent.claude_cli import claude_env, claude_version, find_claude_binary
from aideator_agent.emitter import LineEmitter
from aideator_agent.git_diff import DiffResult, GitError, compute_diff, resolve_base
from aideator_agent.protocol import zero_usage
from aideator_agent.spec import AgentSpec, SpecError, load_spec
from aideator_agent.start import EXIT_SETUP_FAILED, status_data

__all__ = ["EXIT_SETUP_FAILED", "VariationSession"]


class VariationSession:
    """Runs one variation and prints every protocol line through `emitter`."""

    def __init__(self, emitter: LineEmitter) -> None:
        self._emitter = emitter
        self._started = time.monotonic()
        self._claude_code_version: str | None = None
        self._base_sha: str | None = None

    async def run(
        self, spec_file: Path | None, workdir: Path, *, announced: AgentSpec | None = None
    ) -> int:
        """Run the variation; return the agent program's exit status (0 unless setup failed).

        `announced`: the spec whose "starting" line is already out (`announce`, for a
        command agent); else the spec is read here.
        """
        spec = announced
        if spec is None:
            try:
                spec = load_spec(spec_file, os.environ.get("AIDEATOR_SPEC"))
            except SpecError as exc:
                return self._setup_failed("unknown", None, str(exc), "bad_spec")
        binary = None
        if spec.agent == "claude-code":
            binary = find_claude_binary(os.environ)
            if binary:
                self._claude_code_version = await claude_version(binary, claude_env(os.environ))
        if announced is None:
            self._status("starting", spec)
        if spec.agent == "claude-code" and not binary:
            return self._fail("Claude Code CLI not found", "claude_not_found", spec)
        try:
            self._base_sha = await resolve_base(workdir, spec.base_sha)
        except (GitError, OSError) as exc:
            return self._fail(f"workspace is not usable: {exc}", "bad_workspace", spec)
        self._status("running", spec)
        outcome = await self._run_agent(spec, workdir, binary)
        self._status("finishing", spec)
        diff = await self._diff(workdir, self._base_sha, spec.setup_tree)
        self._result(outcome.exit_code, diff, outcome.usage, spec, session_id=outcome.session_id)
        return 0

    async def _run_agent(self, spec: AgentSpec, workdir: Path, binary: str | None) -> AgentOutcome:
        child = ChildProcess()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Stop the agent but still report the diff of what it did so far.
            loop.add_signal_handler(signum, child.terminate)
        try:
            if spec.agent == "command":
                return await run_command(spec, workdir, self._emitter, child)
            assert binary is not None
            return await run_claude_code(spec, workdir, self._emitter, child, binary)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    async def _diff(self, workdir: Path, base: str, setup_tree: str | None) -> DiffResult:
        try:
            return await compute_diff(workdir, base, setup_tree)
        except (GitError, OSError) as exc:
            self._emitter.emit(
                "error", f"could not compute the diff: {exc}", {"code": "diff_failed"}
            )
            return DiffResult()

    def _status(self, phase: str, spec: AgentSpec | None) -> None:
        data = status_data(spec, claude_code_version=self._claude_code_version)
        if phase == "running" and self._base_sha:
            data["base_sha"] = self._base_sha
        self._emitter.emit("status", phase, data)

    def _setup_failed(self, kind: str, spec: AgentSpec | None, message: str, code: str) -> int:
        self._emitter.emit("status", "starting", {"kind": kind, "agent_version": __version__})
        return self._fail(message, code, spec)

    def _fail(self, message: str, code: str, spec: AgentSpec | None) -> int:
        self._emitter.emit("error", message, {"code": code})
        self._result(EXIT_SETUP_FAILED, DiffResult(), zero_usage(), spec, text=message)
        return EXIT_SETUP_FAILED

    def _result(
        self,
        exit_code: int,
        diff: DiffResult,
        usage: dict[str, int],
        spec: AgentSpec | None,
        *,
        text: str | None = None,
        session_id: str | None = None,
    ) -> None:
        who = "command" if spec and spec.agent == "command" else "agent"
        data: dict[str, Any] = {
            "exit_code": exit_code,
            "diff": diff.diff,
            "diff_stats": diff.stats,
            "usage": usage,
            "cost_usd": None,  # the host prices usage at its gateway
            "duration_seconds": round(time.monotonic() - self._started, 3),
            "agent_version": __version__,
            "claude_code_version": self._claude_code_version,
            "base_sha": self._base_sha,
        }
        if session_id:
            data["session_id"] = session_id
        if spec is not None:
            data["kind"] = spec.agent
            data["model"] = spec.model
        self._emitter.emit("result", text or f"{who} exited {exit_code}", data)
