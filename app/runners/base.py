"""The one protocol every runner backend implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class VariationJob:
    """Everything a backend needs to run one variation."""

    run_id: str
    variation_id: int
    prompt: str
    spec: dict[str, Any]  # VariationSpec as a dict: agent, model, command, max_turns, ...
    workspace: Path  # a checked-out working tree at base_sha (local/process backends)
    repo_url: str
    base_sha: str
    ref: str | None = None
    timeout_seconds: float = 900.0
    env: dict[str, str] = field(default_factory=dict)  # extra env for the agent (no secrets)
    gateway_socket: Path | None = None  # Unix socket of this variation's LLM gateway
    gateway_url: str | None = None  # TCP base URL of the gateway (dagger/process)
    gateway_token: str | None = None  # per-variation placeholder key the gateway accepts
    relay_url: str | None = None  # ingest URL for relayed lines (dagger backend)
    relay_token: str | None = None


@dataclass(frozen=True)
class AgentExit:
    """The last item a runner yields: how the agent process ended."""

    exit_code: int | None
    error: str | None = None  # a reason the host should record (limit hit, crash, ...)
    timed_out: bool = False
    final_result: dict[str, Any] | None = None  # authoritative result (dagger return value)
    debug_log: str | None = None  # e.g. the dagger CLI's stderr tail


@dataclass(frozen=True)
class CheckOutcome:
    """Result of a check command on a variation's tree."""

    exit_code: int | None
    duration_seconds: float
    output_tail: str
    timed_out: bool = False


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here, and how to fix it if not."""

    ok: bool
    detail: str
    hint: str | None = None
    limits: str | None = None  # how resource limits are enforced (cgroups / rlimits / none)


class Runner(Protocol):
    """Runs one variation: yields raw agent stdout lines, then one AgentExit."""

    name: str

    async def availability(self) -> Availability:
        """Report whether this backend can run variations on this machine."""
        ...

    def run(self, job: VariationJob) -> AsyncIterator[str | AgentExit]:
        """Start the agent; yield each stdout line as it comes, then an AgentExit last.

        Cancelling the iteration (task cancel / aclose) must stop the agent promptly and
        leave no process behind.
        """
        ...
