"""The hardened git runner: clean environment, fixed config, timeouts that kill, tidy errors."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from app.errors import RepoError
from app.repos.git_process import GitSettings, describe_failure, run_git


@pytest.fixture
def settings(tmp_path: Path) -> GitSettings:
    (tmp_path / "home").mkdir()
    (tmp_path / "template").mkdir()
    return GitSettings(home=tmp_path / "home", template_dir=tmp_path / "template")


async def test_git_sees_no_inherited_environment(
    settings: GitSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-secret")
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("GIT_DIR", str(tmp_path))
    out = await run_git(
        ["-c", "alias.envdump=!env", "envdump"], settings=settings, what="env", limit_seconds=10
    )
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert "sk-test-secret" not in out and "proxy.example" not in out
    assert env["HOME"] == str(settings.home)
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ALLOW_PROTOCOL"] == "https"
    assert "GIT_DIR" not in env


async def test_user_config_and_repo_config_cannot_turn_hardening_off(
    settings: GitSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "user-home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = From User Home\n")
    monkeypatch.setenv("HOME", str(home))
    repo = tmp_path / "repo"
    await run_git(["init", "-q", str(repo)], settings=settings, what="init", limit_seconds=10)
    (repo / ".git" / "config").write_text(
        "[core]\n\thooksPath = /tmp/evil-hooks\n\tfsmonitor = /tmp/evil-monitor\n"
        "[http]\n\tfollowRedirects = true\n[protocol]\n\tallow = always\n"
    )
    for key, expected in [
        ("core.hooksPath", "/dev/null"),
        ("core.fsmonitor", "false"),
        ("http.followRedirects", "false"),
        ("protocol.allow", "never"),
    ]:
        out = await run_git(
            ["-C", str(repo), "config", "--get", key],
            settings=settings,
            what="config",
            limit_seconds=10,
        )
        assert out.strip() == expected, key
    with pytest.raises(RepoError):  # user.name is not set anywhere git looks
        await run_git(
            ["config", "--get", "user.name"], settings=settings, what="config", limit_seconds=10
        )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


async def test_timeout_kills_the_whole_process_group(settings: GitSettings, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RepoError, match=r"slow thing timed out after 0.5 s"):
        await run_git(
            ["-c", f"alias.slow=!sh -c 'echo $$ > {pid_file}; sleep 60'", "slow"],
            settings=settings,
            what="slow thing",
            limit_seconds=0.5,
        )
    assert loop.time() - started < 5
    child = int(pid_file.read_text())
    await asyncio.sleep(0.1)
    assert not _alive(child)


async def test_failures_carry_git_stderr_without_host_paths(settings: GitSettings) -> None:
    missing = settings.home.parent / "no-such-repo"
    with pytest.raises(RepoError) as caught:
        await run_git(
            ["-C", str(missing), "status"], settings=settings, what="status", limit_seconds=10
        )
    assert caught.value.message.startswith("status failed: ")
    assert "cannot change to" in caught.value.message
    assert str(settings.home.parent) not in caught.value.message
    assert caught.value.details["git_exit_code"] == 128


def test_describe_failure_hides_credentials_and_keeps_the_last_lines() -> None:
    stderr = b"line 1\nline 2\nremote: x\nfatal: unable to access 'https://bob:pw@h.example/r/'\n"
    text = describe_failure(stderr)
    assert "pw" not in text and "https://***@h.example/r/" in text
    assert "line 1" not in text and text.startswith("line 2")


async def test_size_watch_stops_a_command_that_writes_too_much(
    settings: GitSettings, tmp_path: Path
) -> None:
    target = tmp_path / "grow"
    target.mkdir()
    script = (
        f"i=0; while true; do head -c 65536 /dev/zero > {target}/f$i; i=$((i+1)); sleep 0.01; done"
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RepoError, match="larger than the 1000000-byte limit"):
        await run_git(
            ["-c", f"alias.grow=!sh -c '{script}'", "grow"],
            settings=settings,
            what="grow",
            limit_seconds=30,
            watch=target,
            max_bytes=1_000_000,
        )
    assert loop.time() - started < 10
