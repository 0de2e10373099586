"""Finding and invoking the Claude Code CLI (headless, stream-json)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from aideator_agent.spec import AgentSpec

# Linux limits one argv string to 128 KiB; longer prompts go through stdin instead.
MAX_ARGV_PROMPT_BYTES = 100_000
VERSION_TIMEOUT = 30.0
# Variables that only the agent program needs; the CLI (and its tools) never sees them.
_AGENT_ONLY_ENV = ("RELAY_TOKEN", "RELAY_URL", "AIDEATOR_SPEC")


def find_claude_binary(env: Mapping[str, str]) -> str | None:
    """Locate the CLI: $AIDEATOR_CLAUDE_BIN, then the SDK's bundled copy, then PATH."""
    override = env.get("AIDEATOR_CLAUDE_BIN")
    if override:
        # An explicit choice that does not exist is an error, not a reason to fall back.
        found = shutil.which(override, path=env.get("PATH"))
        return found if found else None
    # find_spec locates the package without importing it (importing it is slow).
    spec = importlib.util.find_spec("claude_agent_sdk")
    for location in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(location) / "_bundled" / "claude"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    return shutil.which("claude", path=env.get("PATH"))


def needs_home(base: Mapping[str, str]) -> bool:
    """True when HOME is unset or not writable (the CLI keeps its state there)."""
    home = base.get("HOME")
    return not home or not os.access(home, os.W_OK)


def session_store(workdir: Path) -> Path | None:
    """Where the CLI keeps its sessions: inside the workspace's git directory.

    Out of the diff, on disk as long as the workspace is, so a follow-up turn (even after a
    server restart) can `--resume` the session. None when the workspace has no .git folder.
    """
    git_dir = workdir / ".git"
    return git_dir / "aideator-claude" if git_dir.is_dir() else None


def claude_env(
    base: Mapping[str, str], home: str | None = None, config_dir: Path | None = None
) -> dict[str, str]:
    """Environment for the CLI: the agent's own, minus relay secrets, plus headless flags."""
    env = {key: value for key, value in base.items() if key not in _AGENT_ONLY_ENV}
    if config_dir is not None:
        env["CLAUDE_CONFIG_DIR"] = str(config_dir)
    env["IS_SANDBOX"] = "1"  # lets --dangerously-skip-permissions run as root
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    if home:
        env["HOME"] = home
    return env


async def claude_version(binary: str, env: Mapping[str, str]) -> str | None:
    """Return the CLI version (e.g. `2.1.330`), or None if it cannot be read."""
    try:
        process = await asyncio.create_subprocess_exec(
            binary,
            "--version",
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        async with asyncio.timeout(VERSION_TIMEOUT):
            out, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    words = out.decode("utf-8", "replace").split()
    return words[0] if process.returncode == 0 and words else None


def claude_argv(binary: str, spec: AgentSpec) -> tuple[list[str], bytes | None]:
    """Build the headless command line; returns (argv, stdin bytes or None)."""
    prompt_bytes = spec.prompt.encode("utf-8")
    # A prompt starting with "-" would be read as an option.
    use_stdin = len(prompt_bytes) > MAX_ARGV_PROMPT_BYTES or spec.prompt.startswith("-")
    argv = [binary, "-p"]
    if not use_stdin:
        argv.append(spec.prompt)
    argv += ["--output-format", "stream-json", "--verbose"]
    if spec.model:
        argv += ["--model", spec.model]
    if spec.max_turns is not None:
        argv += ["--max-turns", str(spec.max_turns)]
    if spec.resume_session:
        argv += ["--resume", spec.resume_session]
    if spec.system_prompt_append:
        argv.append(f"--append-system-prompt={spec.system_prompt_append}")
    argv.append("--dangerously-skip-permissions")
    return argv, prompt_bytes if use_stdin else None
