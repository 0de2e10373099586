"""Runs the real Claude Code CLI against the scripted model, and what tests compare it with."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import claude_agent_sdk

from app.scripted_model.scenarios import load_scenarios

CLAUDE_BIN = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
PLACEHOLDER_WORKSPACE = "/workspace"
PLACEHOLDER_HOME = "/home/agent"
_IGNORED = {".git", "__pycache__"}


@dataclass(frozen=True)
class ClaudeRun:
    """How one Claude Code process ended and what it printed."""

    returncode: int
    stdout: str
    stderr: str

    def lines(self) -> list[dict[str, Any]]:
        """The stream-json lines, parsed."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def result(self) -> dict[str, Any]:
        """The final `result` line."""
        return next(line for line in reversed(self.lines()) if line["type"] == "result")


async def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> ClaudeRun:
    """Run a command to completion (60 s at most) and capture its output."""
    process = await asyncio.create_subprocess_exec(
        *map(str, args),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return ClaudeRun(process.returncode, stdout.decode(), stderr.decode())


async def git_copy(source: Path, workspace: Path) -> None:
    """Copy the sample repo's plain files into workspace and commit them as the base."""
    shutil.copytree(source, workspace, ignore=shutil.ignore_patterns(*_IGNORED))
    author = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*author, "commit", "-qm", "base"]):
        done = await run("git", *args, cwd=workspace)
        assert done.returncode == 0, done.stderr


def claude_env(base_url: str, home: Path) -> dict[str, str]:
    """A clean environment that points Claude Code at the scripted model only."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "placeholder",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",  # we are root; --dangerously-skip-permissions refuses otherwise
    }


async def run_claude(
    scenario: str, workspace: Path, home: Path, base_url: str, *, wrapper: tuple[str, ...] = ()
) -> ClaudeRun:
    """Run `claude -p` headless with stream-json output on the scripted scenario."""
    await asyncio.to_thread(home.mkdir, exist_ok=True)
    return await run(
        *wrapper,
        CLAUDE_BIN,
        "-p",
        "Fix the failing test",
        "--model",
        f"scripted/{scenario}",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        cwd=workspace,
        env=claude_env(base_url, home),
    )


def tree(root: Path) -> dict[str, str]:
    """Every file under root (minus .git and caches) by relative path, with its text."""
    return {
        str(path.relative_to(root)): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not _IGNORED & set(path.relative_to(root).parts)
    }


def first_prompt_turns(scenario: str) -> list[Any]:
    """The model turns one prompt plays: up to the first that awaits a follow-up message."""
    played = []
    for turn in load_scenarios()[scenario].turns:
        played.append(turn)
        if turn.awaits_follow_up:
            break
    return played


def expected_tree(scenario: str, source: Path) -> dict[str, str]:
    """The sample repo after one prompt, applying the scenario's Edit and Write calls by hand."""
    files = tree(source)
    for turn in first_prompt_turns(scenario):
        for call in turn.tool_calls:
            if call.name not in ("Edit", "Write"):
                continue
            name = call.input["file_path"].removeprefix("{cwd}/")
            if call.name == "Write":
                files[name] = call.input["content"]
                continue
            old, new = call.input["old_string"], call.input["new_string"]
            count = -1 if call.input.get("replace_all") else 1
            files[name] = files[name].replace(old, new, count)
    return files


def normalize_transcript(text: str, workspace: Path, home: Path) -> str:
    """Replace this machine's temp paths with placeholders (`/workspace`, `/home/agent`)."""
    text = text.replace(str(home), PLACEHOLDER_HOME)
    # Claude Code names its per-project folder after the cwd, non-alphanumerics as '-'.
    text = text.replace(re.sub(r"[^A-Za-z0-9]", "-", str(workspace)), "-workspace")
    text = text.replace(str(workspace), PLACEHOLDER_WORKSPACE)
    return re.sub(r"/tmp/cc-socks/\d+\.sock", "/tmp/cc-socks/0.sock", text)


def transcript_shape(lines: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """What a transcript says, without ids, timings or paths: types and tool names."""
    shape: list[tuple[str, ...]] = []
    for line in lines:
        blocks = line.get("message", {}).get("content", []) if "message" in line else []
        names = [block.get("name") or block["type"] for block in blocks if isinstance(block, dict)]
        shape.append((line["type"], line.get("subtype", ""), *names))
    return shape
