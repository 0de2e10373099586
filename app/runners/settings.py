"""Per-backend settings objects, discriminated by `backend` (built from AIDEATOR_* settings).

Each backend reads only its own object; `Settings.runner_settings` builds the one the
server uses from the flat environment variables, so `AIDEATOR_SANDBOX_*` and friends keep
working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class LocalSettings(BaseModel):
    """The `local` backend: one bubblewrap sandbox per variation (see docs/sandbox.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["local"] = "local"
    memory_mb: int = Field(default=4096, ge=64)
    pids_max: int = Field(default=512, ge=16)
    cpus: float = Field(default=1.0, gt=0)
    tmp_mb: int = Field(default=1024, ge=16)
    limits: Literal["auto", "cgroups", "rlimits"] = "auto"
    cgroup_parent: Path | None = None
    uid: int = Field(default=2_000_000_000, ge=1, lt=4_294_967_295)


class DaggerSettings(BaseModel):
    """The `dagger` backend: one `dagger call` per variation; checks in a local sandbox."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["dagger"] = "dagger"
    dagger_bin: str = "dagger"
    check_sandbox: LocalSettings = LocalSettings()
    engines: tuple[str, ...] = ()  # runner hosts of an engine pool; empty: the CLI's own
    engine_max_active: int = Field(default=4, ge=1)
    engine_down_seconds: float = Field(default=60.0, gt=0)


class ProcessSettings(BaseModel):
    """The `process` backend: plain subprocesses, no sandbox (development only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["process"] = "process"
    allow_unsandboxed: bool = False
    relay: bool = False


RunnerSettings = Annotated[
    LocalSettings | DaggerSettings | ProcessSettings, Field(discriminator="backend")
]
RUNNER_SETTINGS: TypeAdapter[LocalSettings | DaggerSettings | ProcessSettings] = TypeAdapter(
    RunnerSettings
)
