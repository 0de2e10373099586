"""The agent program's first moments, before asyncio and the agent kinds are imported.

Importing those is most of the program's start-up (tens of milliseconds of CPU). A command
agent has nothing to wait for before saying "starting", so it says it here, straight after
reading its spec; the rest of the program loads while the host relays that line. (Claude
Code's "starting" line carries the CLI's version, which takes a subprocess to learn: it
comes from the session, as before.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aideator_agent import __version__
from aideator_agent.emitter import LineEmitter
from aideator_agent.spec import AgentSpec, SpecError, load_spec

# Exit status of the agent program itself when it could not do its work at all.
EXIT_SETUP_FAILED = 2


def status_data(
    spec: AgentSpec | None, *, claude_code_version: str | None = None
) -> dict[str, Any]:
    """The data of a status line: the agent's kind, model and versions."""
    data: dict[str, Any] = {"kind": spec.agent if spec else "unknown"}
    if spec and spec.model:
        data["model"] = spec.model
    data["agent_version"] = __version__
    if claude_code_version:
        data["claude_code_version"] = claude_code_version
    return data


def announce(emitter: LineEmitter, spec_file: Path | None) -> AgentSpec | None:
    """Say "starting" now when the spec names a command agent; the spec when it was said.

    A spec that cannot be read is left to the session, which reports why.
    """
    try:
        spec = load_spec(spec_file, os.environ.get("AIDEATOR_SPEC"))
    except SpecError:
        return None
    if spec.agent != "command":
        return None
    emitter.emit("status", "starting", status_data(spec))
    return spec
