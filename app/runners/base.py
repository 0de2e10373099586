"""The one protocol every runner backend implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class AgentSpec:
    """How one variation's agent runs: the run's VariationSpec as a backend reads it."""

    agent: str = "claude-code"  # or "command"
    model: str | None = None
    system_prompt_append: str | None = None
    max_turns: int | None = None
    command: tuple[str, ...] | None = None  # for agent "command": its argv
    env: Mapping[str, str] = field(default_factory=dict)
    resume_session: str | None = None  # a follow-up turn: the Claude Code session to resume

    @classmethod
    def from_stored(cls, spec: Mapping[str, Any]) -> AgentSpec:
        """From a stored (validated) VariationSpec."""
        command = spec.get("command")
        return cls(
            agent=str(spec.get("agent") or "claude-code"),
            model=spec.get("model"),
            system_prompt_append=spec.get("system_prompt_append"),
            max_turns=spec.get("max_turns"),
            command=None if command is None else tuple(str(part) for part in command),
            env=dict(spec.get("env") or {}),
        )

    def for_agent(self) -> dict[str, Any]:
        """The fields the agent program reads (no env: that travels as the environment)."""
        fields = {
            "agent": self.agent,
            "model": self.model,
            "system_prompt_append": self.system_prompt_append,
            "max_turns": self.max_turns,
            "command": None if self.command is None else list(self.command),
            "resume_session": self.resume_session,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class VariationJob:
    """Everything a backend needs to run one variation."""

    run_id: str
    variation_id: int
    prompt: str
    spec: AgentSpec
    workspace: Path  # a checked-out working tree at base_sha (local/process backends)
    repo_url: str
    base_sha: str
    ref: str | None = None
    source: dict[str, str] = field(default_factory=dict)  # commit or folder snapshot (manifest)
    timeout_seconds: float = 900.0
    env: dict[str, str] = field(default_factory=dict)  # extra env for the agent (no secrets)
    gateway_socket: Path | None = None  # Unix socket of this variation's LLM gateway
    gateway_url: str | None = None  # TCP base URL of the gateway (dagger/process)
    gateway_token: str | None = None  # per-variation placeholder key the gateway accepts
    relay_url: str | None = None  # ingest URL for relayed lines (dagger backend)
    relay_token: str | None = None
    git_token: str | None = None  # host-side token for a private repository (dagger backend)
    setup_command: str | None = None  # ran on the host's set-up tree, or by the backend
    setup_tree: str | None = None  # git tree id of the workspace as setup left it
    setup_source: str | None = None  # where the setup command came from: spec, devcontainer
    network: str = "none"  # `egress`: the agent reaches the egress proxy (its socket below)
    egress_socket: Path | None = None
    image: str | None = None  # container image (dagger backend)
    turn: int = 1  # which turn of the variation's conversation (follow-ups: 2, 3, ...)
    seq_base: int = 0  # added to this turn's line numbers (earlier turns used 1..seq_base)
    parent: dict[str, Any] | None = None  # a fork's lineage: the variation its tree came from


@dataclass(frozen=True)
class SetupJob:
    """A run's setup command, run once on the set-up tree before any agent."""

    run_id: str
    workspace: Path  # the set-up tree (a checkout of base_sha)
    command: str  # run with /bin/sh -c in the tree, stderr merged into stdout
    timeout_seconds: float
    egress_socket: Path | None = None  # the egress proxy's Unix socket, when it has network


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
    engines: tuple[dict[str, Any], ...] = ()  # per-engine states of a pooled backend


class Checker(Protocol):
    """Runs a check command on a variation's tree, isolated from its agent."""

    async def __call__(self, job: VariationJob, command: str, timeout: float) -> CheckOutcome:
        """Run `command` on the job's workspace."""
        ...


class LineDelivery(StrEnum):
    """How an agent's lines reach the host."""

    STDOUT = "stdout"  # `run` yields every line as the agent prints it
    RELAY = "relay"  # the agent POSTs lines to the ingest endpoint; `run` yields only the exit


class TreeLocation(StrEnum):
    """Where the agent's working tree lives while it works."""

    HOST = "host"  # `job.workspace` is the agent's tree: checks run on it as it is
    REMOTE = "remote"  # elsewhere (a container): the host applies the final diff to check it


class GatewayRoute(StrEnum):
    """How the agent reaches the LLM gateway (it always shows its per-variation token)."""

    UNIX_SOCKET = "unix_socket"  # `job.gateway_socket`, bound into the sandbox
    TCP = "tcp"  # `job.gateway_url`


class SetupLocation(StrEnum):
    """Who runs a run's setup command."""

    HOST = "host"  # `setup` runs it once on a host tree, copied into every variation
    BACKEND = "backend"  # the backend runs `job.setup_command` itself (e.g. a Dagger layer)


@dataclass(frozen=True)
class Capabilities:
    """What the rest of the host must know about a backend; every field is required."""

    lines: LineDelivery
    tree: TreeLocation
    gateway: GatewayRoute
    images: bool  # runs each variation in a container image a run may choose (`image`)
    setup: SetupLocation


class Runner(Protocol):
    """A runner backend: every capability is stated, none is discovered.

    Runs one variation (yields raw agent lines, then one AgentExit) and checks a
    variation's tree in isolation from its agent. The registry returns objects of this
    type, so a backend missing a member fails `mypy` and the contract tests
    (tests/runners/test_contract.py).
    """

    name: str
    capabilities: Capabilities

    @property
    def identity(self) -> str:
        """What a variation's manifest records as its sandbox (backend and version)."""
        ...

    async def availability(self) -> Availability:
        """Report whether this backend can run variations on this machine."""
        ...

    def run(self, job: VariationJob) -> AsyncIterator[str | AgentExit]:
        """Start the agent; yield each stdout line as it comes, then an AgentExit last.

        Cancelling the iteration (task cancel / aclose) must stop the agent promptly and
        leave no process behind.
        """
        ...

    async def check(self, job: VariationJob, command: str, timeout: float) -> CheckOutcome:
        """Run `command` on the variation's tree, isolated from the agent; never skipped."""
        ...

    def setup(self, job: SetupJob) -> AsyncGenerator[str | AgentExit, None]:
        """Run a setup command on the set-up tree; yield its output lines, then how it ended.

        Only called for SetupLocation.HOST. Network only through `job.egress_socket`.
        """
        ...
