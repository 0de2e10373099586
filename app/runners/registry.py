"""Builds the configured runner backend, ready to use (its checker included).

Each backend is imported lazily, so a server never loads the code of backends it does not
use. Adding a backend: a package under app/runners/, its settings object in
app/runners/settings.py, and one branch here (see docs/runners.md).
"""

from __future__ import annotations

from typing import assert_never

from app.config import Settings
from app.runners.base import Runner
from app.runners.settings import DaggerSettings, LocalSettings, ProcessSettings, RunnerSettings


def make_runner(settings: Settings) -> Runner:
    """The backend the settings name."""
    return runner_for(settings.runner_settings)


def runner_for(config: RunnerSettings) -> Runner:
    """The backend a settings object describes."""
    if isinstance(config, LocalSettings):
        from app.runners.local import LocalRunner

        return LocalRunner(config)
    if isinstance(config, DaggerSettings):
        from app.runners.dagger import DaggerRunner
        from app.runners.local import LocalRunner

        checks = LocalRunner(config.check_sandbox)
        pool = None
        if config.engines:
            from app.runners.dagger.engine_pool import EnginePool

            pool = EnginePool(
                list(config.engines),
                per_engine=config.engine_max_active,
                down_seconds=config.engine_down_seconds,
            )
        return DaggerRunner(checker=checks.check, dagger_bin=config.dagger_bin, pool=pool)
    if isinstance(config, ProcessSettings):
        from app.runners.process import ProcessRunner

        return ProcessRunner(config)
    assert_never(config)  # mypy fails here when a settings type has no branch


def agents_own_no_server_files(config: RunnerSettings) -> bool:
    """True when agents run as a host user other than the server's (local sandbox as root):
    files the server owns read-only are then safe from them, so workspaces may hardlink the
    repository mirror's object files."""
    if not isinstance(config, LocalSettings):
        return False
    from app.runners.local.user import choose_identity

    return choose_identity(config.uid).own_userns


def sandbox_owner(config: RunnerSettings) -> tuple[int, int] | None:
    """The host uid:gid a workspace is handed to before an agent runs in it (None: never)."""
    if not isinstance(config, LocalSettings):
        return None
    from app.runners.local.user import choose_identity

    identity = choose_identity(config.uid)
    return (identity.host_uid, identity.host_gid) if identity.own_userns else None
