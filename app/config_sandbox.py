"""Settings of the local sandbox, the setup phase and egress (part of `Settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class SandboxAndSetupSettings(BaseSettings):
    """Fields `Settings` inherits; read with its `AIDEATOR_` prefix, never on their own."""

    # The `local` backend's bubblewrap sandbox (see docs/sandbox.md).
    sandbox_memory_mb: int = Field(
        default=4096,
        ge=64,
        description="Memory limit per sandbox in MiB (cgroup memory.max, or RLIMIT_DATA per "
        "process when cgroups are not available).",
    )
    sandbox_pids_max: int = Field(
        default=512,
        ge=16,
        description="Process/thread limit per sandbox (cgroup pids.max, or RLIMIT_NPROC).",
    )
    sandbox_cpus: float = Field(
        default=1.0,
        gt=0,
        description="CPUs per sandbox (cgroup cpu.max; with rlimits: RLIMIT_CPU of "
        "cpus x timeout seconds per process).",
    )
    sandbox_tmp_mb: int = Field(
        default=1024,
        ge=16,
        description="Size in MiB of each in-memory scratch filesystem of a sandbox "
        "(/tmp, HOME, /dev/shm).",
    )
    sandbox_limits: Literal["auto", "cgroups", "rlimits"] = Field(
        default="auto",
        description="How sandbox limits are enforced: auto (cgroup v2 when delegated, else "
        "rlimits), cgroups (refuse to run without them) or rlimits.",
    )
    sandbox_cgroup_parent: Path | None = Field(
        default=None,
        description="A writable cgroup v2 directory with memory, pids and cpu delegated, "
        "holding one child cgroup per sandbox; default: <cgroup root>/aideator when this "
        "process sits at the root of its cgroup namespace.",
    )
    sandbox_uid: int = Field(
        default=2_000_000_000,
        ge=1,
        lt=4_294_967_295,
        description="Host uid and gid sandboxed processes run as when the server runs as root "
        "(workspaces are handed over to it); a non-root server uses its own uid.",
    )

    # Setup phase and egress (see docs/setup.md).
    setup_timeout_seconds: float = Field(
        default=900.0, gt=0, description="Default wall-clock limit of a run's setup command."
    )
    setup_cache_mb: int = Field(
        default=4096,
        ge=0,
        description="Size cap in MiB of the set-up tree cache (least recently used go first; "
        "0 turns caching off).",
    )
    setup_cache_ttl_seconds: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="A cached set-up tree unused this long is removed.",
    )
    egress_allow: str = Field(
        default="",
        description="Hosts the egress proxy lets setup (and agents with network `egress`) "
        "reach: comma-separated `host`, `host:port` or `*.domain`. Empty: no egress.",
    )

    @field_validator("egress_allow")
    @classmethod
    def _egress_entries(cls, value: str) -> str:
        from app.egress.allowlist import parse_allow_list
        from app.errors import AppError

        try:
            parse_allow_list(value)
        except AppError as exc:
            raise ValueError(exc.message) from None
        return value
