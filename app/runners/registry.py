"""Picks the runner backend named in the settings (imported lazily)."""

from __future__ import annotations

from app.config import Settings
from app.runners.base import Runner


def make_runner(settings: Settings) -> Runner:
    """The configured backend."""
    if settings.backend == "process":
        from app.runners.process import ProcessRunner

        return ProcessRunner(settings)
    if settings.backend == "dagger":
        from app.runners.dagger import DaggerRunner

        return DaggerRunner()
    from app.runners.local import LocalRunner

    return LocalRunner(settings)
