"""Settings: defaults, validation with readable messages naming the variable."""

from __future__ import annotations

import pytest

from app.config import Settings, SettingsError, get_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIDEATOR_BACKEND", "AIDEATOR_MAX_VARIATIONS", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.backend == "local" and settings.max_variations == 5
    assert settings.allow_unsandboxed is False and settings.allow_local_repos is False
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.uses_scripted_model


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AIDEATOR_BACKEND": "docker"}, "AIDEATOR_BACKEND"),
        ({"AIDEATOR_MAX_VARIATIONS": "0"}, "AIDEATOR_MAX_VARIATIONS"),
        ({"AIDEATOR_DATABASE_URL": "mysql://x"}, "AIDEATOR_DATABASE_URL"),
        ({"AIDEATOR_BACKEND": "process"}, "AIDEATOR_ALLOW_UNSANDBOXED=true"),
        ({"AIDEATOR_GITHUB_API_URL": "http://ghe.example.com/api/v3"}, "must be https://"),
        ({"AIDEATOR_GITHUB_API_URL": "ftp://x"}, "AIDEATOR_GITHUB_API_URL must be"),
    ],
)
def test_bad_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needle: str
) -> None:
    monkeypatch.chdir("/")  # no .env here
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as info:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert needle in str(info.value)
    assert "Traceback" not in str(info.value)


def test_api_key_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-canary-1234")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not settings.uses_scripted_model
    assert "sk-ant-canary-1234" not in repr(settings)


def test_env_example_lists_every_setting() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        var = alias if isinstance(alias, str) else f"AIDEATOR_{name.upper()}"
        assert f"# {var}=" in text, f"{var} missing from .env.example"
