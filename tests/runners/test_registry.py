"""The registry builds each backend from its own settings object, checker included."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.runners.base import LineDelivery, TreeLocation
from app.runners.registry import make_runner
from app.runners.settings import RUNNER_SETTINGS, DaggerSettings, LocalSettings, ProcessSettings


def test_each_backend_gets_its_own_settings(make_settings: Callable[..., Settings]) -> None:
    local = make_settings(backend="local", sandbox_memory_mb=300, sandbox_limits="rlimits")
    assert local.runner_settings == LocalSettings(memory_mb=300, limits="rlimits")
    dagger = make_settings(backend="dagger", sandbox_pids_max=64).runner_settings
    assert isinstance(dagger, DaggerSettings) and dagger.check_sandbox.pids_max == 64
    process = make_settings(process_relay=True).runner_settings
    assert process == ProcessSettings(allow_unsandboxed=True, relay=True)


def test_settings_are_discriminated_by_backend() -> None:
    parsed = RUNNER_SETTINGS.validate_python({"backend": "dagger", "dagger_bin": "/opt/dagger"})
    assert isinstance(parsed, DaggerSettings) and parsed.dagger_bin == "/opt/dagger"
    with pytest.raises(ValidationError, match="backend"):
        RUNNER_SETTINGS.validate_python({"backend": "kubernetes"})
    with pytest.raises(ValidationError, match="relay"):
        RUNNER_SETTINGS.validate_python({"backend": "local", "relay": True})


@pytest.mark.parametrize(
    ("overrides", "name", "lines", "tree"),
    [
        ({"backend": "local"}, "local", LineDelivery.STDOUT, TreeLocation.HOST),
        ({"backend": "dagger"}, "dagger", LineDelivery.RELAY, TreeLocation.REMOTE),
        ({}, "process", LineDelivery.STDOUT, TreeLocation.HOST),
        ({"process_relay": True}, "process", LineDelivery.RELAY, TreeLocation.HOST),
    ],
)
def test_registry_states_capabilities(
    make_settings: Callable[..., Settings],
    overrides: dict[str, object],
    name: str,
    lines: LineDelivery,
    tree: TreeLocation,
) -> None:
    runner = make_runner(make_settings(**overrides))
    assert (runner.name, runner.capabilities.lines, runner.capabilities.tree) == (name, lines, tree)
    assert callable(runner.check)
