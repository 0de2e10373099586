"""Settings: the one place that reads the environment."""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from app.config_sandbox import SandboxAndSetupSettings
from app.runners.settings import RUNNER_SETTINGS, LocalSettings, RunnerSettings

BackendName = Literal["local", "dagger", "process"]


class Settings(SandboxAndSetupSettings):
    """Server settings, read from `AIDEATOR_*` variables and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="AIDEATOR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./aideator.db",
        description="SQLAlchemy URL of the database (SQLite file by default).",
    )
    data_dir: Path = Field(
        default=Path("./.aideator"),
        description="Where clone caches, workspaces and sockets live.",
    )
    backend: BackendName = Field(default="local", description="Runner backend for variations.")
    allow_unsandboxed: bool = Field(
        default=False, description="Allow the `process` backend (no sandbox; development only)."
    )
    process_relay: bool = Field(
        default=False,
        description="process backend: deliver agent lines through the relay ingest endpoint "
        "(as the dagger backend does) instead of stdout; for relay tests and benchmarks.",
    )
    allow_local_repos: bool = Field(
        default=False,
        description="Allow local paths, file:// and loopback/private hosts as repo_url.",
    )
    dagger_engines: str | None = Field(
        default=None,
        description="dagger backend: comma-separated Dagger engine runner hosts (e.g. "
        "tcp://engine-0:1234,kube-pod://dagger-engine-x?namespace=dagger); variations go to "
        "the least-loaded one. Unset: the CLI's own engine.",
    )
    dagger_engine_max_active: int = Field(
        default=4, ge=1, le=256, description="dagger backend: variations at once per engine."
    )
    dagger_engine_down_seconds: float = Field(
        default=60.0,
        gt=0,
        description="dagger backend: how long an engine that failed to connect is skipped.",
    )
    snapshot_max_bytes: int = Field(
        default=200 * 1024 * 1024,
        ge=1,
        description="Largest local folder (files kept after .gitignore and the built-in "
        "skips) a run snapshots into a base commit when it is not a git repository's root.",
    )
    max_variations: int = Field(default=5, ge=1, le=50)
    max_concurrent_variations: int = Field(default=8, ge=1, le=256)
    variation_timeout_seconds: float = Field(default=900.0, gt=0)
    check_timeout_seconds: float = Field(default=300.0, gt=0)
    workspace_retention_seconds: float = Field(
        default=0,
        ge=0,
        description="Keep a finished run's working trees this long after it finished "
        "(how long its variations can be followed up; 0: remove at once). Kept across "
        "restarts for succeeded or failed runs still within it.",
    )
    workspace_overlay: Literal["auto", "off"] = Field(
        default="auto",
        description="auto: each variation's working tree is a copy-on-write overlay mount "
        "over one checkout per run when the server can mount one (root), else a full "
        "checkout per variation; off: always a full checkout.",
    )
    sse_ping_interval: float = Field(default=15.0, gt=0)
    sse_send_timeout: float = Field(default=10.0, gt=0)
    max_prompt_chars: int = Field(default=32_000, ge=1)
    event_batch_max: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Most events committed in one transaction (unset: 1,000 on SQLite, whose commit "
            "holds the event loop; 4,000 on PostgreSQL, whose commits of one run queue "
            "behind each other)."
        ),
    )
    event_flush_interval: float = Field(
        default=0.005,
        ge=0,
        description="Seconds from a batch's first line to its commit (more lines join it).",
    )
    cancel_grace_seconds: float = Field(default=3.0, ge=0)
    upstream_url: str = Field(
        default="https://api.anthropic.com",
        description="Where the gateway sends model requests when ANTHROPIC_API_KEY is set.",
    )
    gateway_extra_endpoints: str | None = Field(
        default=None,
        description="Comma-separated `METHOD /v1/path` entries the gateway forwards besides "
        "POST /v1/messages and POST /v1/messages/count_tokens (none by default), e.g. "
        "`GET /v1/models`. Batches and /v1/complete are never forwarded.",
    )
    gateway_background_models: str = Field(
        default="claude-haiku-5-5",
        description="Comma-separated models every variation may use besides its own "
        "(Claude Code's small/fast model); empty: none.",
    )
    gateway_max_tokens: int = Field(
        default=128_000, ge=1, description="Largest max_tokens the gateway forwards."
    )
    gateway_max_request_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        le=32 * 1024 * 1024,
        description="Largest model request body the gateway forwards.",
    )
    gateway_requests_per_minute: int = Field(
        default=120, ge=1, description="Model requests one variation may make per minute."
    )
    scripted_chunk_delay: float = Field(
        default=0.0, ge=0, le=1, description="Pause between streamed chunks of the scripted model."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="Base URL clients use to reach this server (for links)."
    )
    api_keys: str | None = Field(
        default=None,
        description="Comma-separated API keys; when set (or api_keys_file), every route but "
        "/health needs X-API-Key.",
    )
    api_keys_file: Path | None = Field(
        default=None, description="File with one SHA-256 hex digest of an API key per line."
    )
    stream_token_secret: SecretStr | None = Field(
        default=None,
        description="Signs per-run stream tokens; set it when several replicas serve one DB.",
    )
    stream_token_ttl_seconds: int = Field(default=900, ge=10, le=86_400)
    cors_origins: str | None = Field(
        default=None, description="Comma-separated origins allowed by CORS (none by default)."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body for the public API."
    )
    max_active_runs: int = Field(
        default=20,
        ge=1,
        description="Runs queued or running at once, counted in the database (across all "
        "replicas); beyond it, 429.",
    )
    replica_id: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=200,
        description="This server's name among the replicas of one database; unique per "
        "replica and stable across its restarts (default: the host name).",
    )
    lease_seconds: float = Field(
        default=20.0,
        ge=1,
        le=3600,
        description="A replica renews the lease on the runs it runs every lease/4 seconds; "
        "another replica marks the runs of one whose lease ran out `interrupted`.",
    )
    max_streams_per_client: int = Field(
        default=32, ge=1, description="Open SSE streams per client address; beyond it, 429."
    )
    log_level: str = "info"
    log_json: bool | None = Field(
        default=None, description="JSON logs; default: JSON when stderr is not a TTY."
    )

    # Keeps its usual name: never prefixed, never logged, never sent to an agent.
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")

    # Private repositories and delivery (see docs/repos.md): host-side only, never in a sandbox.
    git_credentials: Path | None = Field(
        default=None,
        description="A file in git's credential-store format (`https://user:token@host` per "
        "line) the host's git uses to clone, fetch and push; read at each use.",
    )
    github_token: SecretStr | None = Field(
        default=None,
        validation_alias="GITHUB_TOKEN",
        description="Token for github.com when no AIDEATOR_GIT_CREDENTIALS line matches.",
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        description="GitHub REST API base URL for pull requests (GitHub Enterprise: "
        "https://HOST/api/v3).",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// (or postgresql+asyncpg:// with asyncpg "
                "installed)"
            )
        return value

    @field_validator("gateway_extra_endpoints")
    @classmethod
    def _known_endpoints(cls, value: str | None) -> str | None:
        from app.gateway.rules import RuleError, parse_endpoints

        try:
            parse_endpoints(value)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _process_needs_opt_in(self) -> Settings:
        if self.backend == "process" and not self.allow_unsandboxed:
            raise ValueError(
                "AIDEATOR_BACKEND=process runs agents without a sandbox; "
                "set AIDEATOR_ALLOW_UNSANDBOXED=true to allow it (development only)"
            )
        return self

    @model_validator(mode="after")
    def _github_api_over_https(self) -> Settings:
        # The pull request call carries a token: plain http only where local repositories
        # are allowed (development, tests on loopback).
        url = self.github_api_url
        if not url.startswith(("https://", "http://")):
            raise ValueError("AIDEATOR_GITHUB_API_URL must be an https:// URL")
        if url.startswith("http://") and not self.allow_local_repos:
            raise ValueError(
                "AIDEATOR_GITHUB_API_URL must be https:// (http:// only with "
                "AIDEATOR_ALLOW_LOCAL_REPOS=true, for development)"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        """Whether API keys are configured."""
        return bool(self.api_keys and self.api_keys.strip()) or self.api_keys_file is not None

    @property
    def server_url(self) -> str:
        """How agents and links reach this server."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def local_settings(self) -> LocalSettings:
        """The bubblewrap sandbox's settings (the local backend's, and dagger's checks')."""
        return LocalSettings(
            memory_mb=self.sandbox_memory_mb,
            pids_max=self.sandbox_pids_max,
            cpus=self.sandbox_cpus,
            tmp_mb=self.sandbox_tmp_mb,
            limits=self.sandbox_limits,
            cgroup_parent=self.sandbox_cgroup_parent,
            uid=self.sandbox_uid,
        )

    @property
    def runner_settings(self) -> RunnerSettings:
        """The configured backend's own settings object, chosen by `backend`."""
        sandbox = self.local_settings.model_dump()
        fields: dict[str, dict[str, object]] = {
            "local": sandbox,
            "dagger": {
                "check_sandbox": sandbox,
                "engines": parse_engines(self.dagger_engines),
                "engine_max_active": self.dagger_engine_max_active,
                "engine_down_seconds": self.dagger_engine_down_seconds,
            },
            "process": {"allow_unsandboxed": self.allow_unsandboxed, "relay": self.process_relay},
        }
        return RUNNER_SETTINGS.validate_python({**fields[self.backend], "backend": self.backend})

    @property
    def uses_scripted_model(self) -> bool:
        """True when no Anthropic key is configured: agents talk to the scripted model."""
        return self.anthropic_api_key is None or not self.anthropic_api_key.get_secret_value()


def parse_engines(value: str | None) -> tuple[str, ...]:
    """The comma-separated runner hosts of AIDEATOR_DAGGER_ENGINES, blanks and repeats dropped."""
    hosts: list[str] = []
    for item in (value or "").split(","):
        host = item.strip()
        if host and host not in hosts:
            hosts.append(host)
    return tuple(hosts)


class SettingsError(Exception):
    """Settings failed validation; the message names each variable and what is wrong."""


def describe_errors(exc: ValidationError) -> str:
    """One line per bad setting, named as the environment variable a user sets."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        name = loc[0] if loc else ""
        field = Settings.model_fields.get(name)
        alias = field.validation_alias if field is not None else None
        if isinstance(alias, str):
            var = alias
        else:
            var = name if name.isupper() else f"AIDEATOR_{name.upper()}"
        lines.append(f"{var}: {err.get('msg', 'invalid')}" if name else str(err.get("msg")))
    return "invalid settings:\n  " + "\n  ".join(lines)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; raises SettingsError with readable lines."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None
