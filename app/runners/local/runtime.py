"""The agent's runtime inside a sandbox: mounted at a neutral path, apart from the user's tools.

The agent program (standard library only) runs on the system's `python3` with `-I -S`: no
site-packages, no PYTHONPATH, no current directory on `sys.path`; it is imported from
`/opt/aideator/agent`. Claude Code (the binary bundled in the claude-agent-sdk wheel) is
bound at `/opt/aideator/bin/claude`. The server's interpreter, virtualenv and home stay
outside; where the server's site-packages sit under a system directory the sandbox sees,
they are hidden by an empty tmpfs. The user's commands get the system's tools and the
workspace's own environment (`.venv/bin`, `node_modules/.bin` first on PATH when present).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import sys
from collections.abc import Sequence
from pathlib import Path

RUNTIME_DIR = "/opt/aideator"
AGENT_DIR = f"{RUNTIME_DIR}/agent"
CLAUDE_BIN = f"{RUNTIME_DIR}/bin/claude"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
WORKSPACE_TOOLS = (".venv/bin", "node_modules/.bin")
# `python -I -S -c`: sys.path gets the agent directory and the standard library only.
_BOOT = (
    f"import sys; sys.path.insert(0, {AGENT_DIR!r}); import runpy; "
    "runpy.run_module('aideator_agent', run_name='__main__', alter_sys=True)"
)


def system_python() -> str:
    """The system's python3 (3.11+); the server's base interpreter when there is none."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK) and not _inside_server_env(Path(candidate)):
            return candidate
    return os.path.join(sys.base_prefix, "bin", "python3")


def _inside_server_env(path: Path) -> bool:
    return Path(sys.prefix) != Path(sys.base_prefix) and path.resolve().is_relative_to(
        Path(sys.prefix).resolve()
    )


def interpreter_mounts(python: str) -> list[Path]:
    """What must be bound for `python` to run: nothing for a system interpreter."""
    if python.startswith(("/usr/", "/bin/")):
        return []
    return [Path(sys.base_prefix)]


def claude_binary() -> Path | None:
    """The Claude Code binary bundled in the claude-agent-sdk wheel, if installed."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    for location in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(location) / "_bundled" / "claude"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    found = shutil.which("claude")
    return Path(found) if found else None


def runtime_mounts(agent_src: Path, claude: Path | None) -> list[str]:
    """bwrap arguments binding the agent program and Claude Code at the neutral path."""
    args = ["--ro-bind", str(agent_src), AGENT_DIR]
    if claude is not None:
        args += ["--ro-bind", str(claude.resolve()), CLAUDE_BIN]
    return args


def hidden_paths(system_paths: Sequence[str]) -> list[Path]:
    """The server's own package directories that sit inside a mounted system directory."""
    candidates = [Path(p) for p in site.getsitepackages()]
    if sys.prefix != sys.base_prefix:
        candidates.append(Path(sys.prefix))
    roots = [Path(p).resolve() for p in system_paths if Path(p).is_dir()]
    hidden = []
    for path in candidates:
        real = path.resolve()
        if real.is_dir() and any(real.is_relative_to(root) for root in roots):
            hidden.append(real)
    return hidden


def hiding_args(paths: Sequence[Path]) -> list[str]:
    """bwrap arguments covering each path with an empty read-only tmpfs."""
    args: list[str] = []
    for path in paths:
        args += ["--tmpfs", str(path), "--remount-ro", str(path)]
    return args


def agent_command(python: str) -> list[str]:
    """The command that starts the agent program inside the sandbox."""
    return [python, "-I", "-S", "-c", _BOOT]


def user_env(workspace: Path) -> dict[str, str]:
    """PATH (and VIRTUAL_ENV) for the user's commands: the workspace's tools, then the system's."""
    inside = Path("/workspace")
    first = [str(inside / tools) for tools in WORKSPACE_TOOLS if (workspace / tools).is_dir()]
    env = {"PATH": ":".join([*first, SYSTEM_PATH])}
    if (workspace / ".venv" / "bin").is_dir():
        env["VIRTUAL_ENV"] = str(inside / ".venv")
    return env
