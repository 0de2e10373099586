"""DaggerRunner: the exact `dagger call` it builds, availability, and process handling.

No Dagger engine runs here. Process handling is exercised against a STAND-IN for the CLI
(`fake_dagger_cli.py`, started through a `dagger` wrapper script the tests write); what a
real engine does with the call is proven only by .github/workflows/dagger.yml.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.package_files import dagger_module_dir
from app.runners.base import AgentExit, AgentSpec, VariationJob
from app.runners.dagger import ENGINE_HINT, INSTALL_HINT, DaggerRunner
from app.runners.dagger.command import (
    GATEWAY_TOKEN_ENV,
    GIT_TOKEN_ENV,
    RELAY_TOKEN_ENV,
    InvocationError,
    build_invocation,
    host_service,
    parse_result,
)

STAND_IN = Path(__file__).with_name("fake_dagger_cli.py")
GATEWAY_TOKEN = "gw-token-6f1c"
RELAY_TOKEN = "relay-token-93ab"
BASE_SHA = "0123456789abcdef0123456789abcdef01234567"


def make_job(tmp_path: Path, **overrides: object) -> VariationJob:
    values: dict[str, object] = {
        "run_id": "run-1",
        "variation_id": 2,
        "prompt": "Fix the median, please",
        "spec": AgentSpec(
            agent="claude-code",
            model="scripted/fix-correct",
            max_turns=7,
            system_prompt_append="-be brief, really",
        ),
        "workspace": tmp_path / "ws",
        "repo_url": "https://github.com/example/numstats.git",
        "base_sha": BASE_SHA,
        "timeout_seconds": 30.0,
        "env": {"FOO": "a,b"},
        "gateway_url": "http://127.0.0.1:4567",
        "gateway_token": GATEWAY_TOKEN,
        "relay_url": "http://127.0.0.1:8000/api/v1/internal/runs/run-1/variations/2/events",
        "relay_token": RELAY_TOKEN,
    }
    values.update(overrides)
    return VariationJob(**values)  # type: ignore[arg-type]


def write_stand_in(bin_dir: Path) -> Path:
    """A `dagger` executable that runs the stand-in CLI."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "dagger"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def write_tool(bin_dir: Path, name: str, script: str) -> None:
    """A stand-in for another tool (e.g. docker) on PATH."""
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(0o755)


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


async def collect(items: AsyncIterator[str | AgentExit]) -> list[str | AgentExit]:
    return [item async for item in items]


def load_record(path: Path) -> dict[str, object] | None:
    """What the stand-in recorded about itself, once it has."""
    if not path.exists():
        return None
    record: dict[str, object] = json.loads(path.read_text())
    return record


async def wait_for_file(path: Path, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (record := load_record(path)) is None:
        assert time.monotonic() < deadline, "the stand-in CLI never started"
        await asyncio.sleep(0.05)
    return record


async def wait_gone(pids: list[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if alive(p)]}"
        await asyncio.sleep(0.05)


class TestInvocation:
    def test_exact_argv_and_environment(self, tmp_path: Path) -> None:
        base_env = {
            "PATH": "/usr/bin",
            "HOME": "/root",
            "ANTHROPIC_API_KEY": "sk-real-key",
            "AIDEATOR_DATABASE_URL": "postgresql+asyncpg://u:pw@db/x",
            "_EXPERIMENTAL_DAGGER_RUNNER_HOST": "tcp://engine:1234",
        }
        inv = build_invocation(
            make_job(tmp_path), dagger_bin="dagger", module="/srv/aideator", base_env=base_env
        )
        assert inv.argv == [
            "dagger",
            "--progress=plain",
            "call",
            "-m",
            "/srv/aideator",
            "stream-agent",
            "--repo-url=https://github.com/example/numstats.git",
            f"--ref={BASE_SHA}",
            "--run-id=run-1",
            "--variation-id=2",
            "--prompt=Fix the median, please",
            "--agent=claude-code",
            "--model=scripted/fix-correct",
            "--max-turns=7",
            "--system-prompt-append=-be brief, really",
            '--env="FOO=a,b"',
            "--gateway=tcp://127.0.0.1:4567",
            f"--anthropic-api-key=env://{GATEWAY_TOKEN_ENV}",
            "--relay=tcp://127.0.0.1:8000",
            "--relay-path=/api/v1/internal/runs/run-1/variations/2/events",
            f"--relay-token=env://{RELAY_TOKEN_ENV}",
            "result",
        ]
        joined = "\n".join(inv.argv)
        assert GATEWAY_TOKEN not in joined and RELAY_TOKEN not in joined
        assert inv.env[GATEWAY_TOKEN_ENV] == GATEWAY_TOKEN
        assert inv.env[RELAY_TOKEN_ENV] == RELAY_TOKEN
        assert inv.env["NO_COLOR"] == "1"
        # The real key and the server's own settings never reach the CLI.
        assert "ANTHROPIC_API_KEY" not in inv.env
        assert "AIDEATOR_DATABASE_URL" not in inv.env
        assert inv.env["PATH"] == "/usr/bin"
        assert inv.env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] == "tcp://engine:1234"

    def test_local_repository_is_uploaded_from_the_workspace(self, tmp_path: Path) -> None:
        job = make_job(tmp_path, repo_url=str(tmp_path / "origin"), relay_url=None)
        argv = build_invocation(job, dagger_bin="dagger", module="m", base_env={}).argv
        assert f"--source={tmp_path / 'ws'}" in argv
        assert not any(a.startswith(("--repo-url", "--ref", "--relay")) for a in argv)

    def test_command_items_survive_the_cli_list_parsing(self, tmp_path: Path) -> None:
        command = ["python3", "-c", 'print("a,b", end="")', "x"]
        job = make_job(tmp_path, spec=AgentSpec(agent="command", command=tuple(command)), env={})
        argv = build_invocation(job, dagger_bin="dagger", module="m", base_env={}).argv
        values = [a.removeprefix("--command=") for a in argv if a.startswith("--command=")]
        # The CLI reads each list flag value as one CSV record (pflag StringSlice).
        assert [next(csv.reader([v])) for v in values] == [[item] for item in command]

    def test_git_token_by_name_only(self, tmp_path: Path) -> None:
        job = make_job(tmp_path, git_token="ghp-canary-git-token")
        inv = build_invocation(job, dagger_bin="dagger", module="m", base_env={})
        assert f"--git-token=env://{GIT_TOKEN_ENV}" in inv.argv
        assert "ghp-canary-git-token" not in "\n".join(inv.argv)
        assert inv.env[GIT_TOKEN_ENV] == "ghp-canary-git-token"
        # A local repository is uploaded: no clone, so no token leaves the host.
        local = make_job(tmp_path, repo_url=str(tmp_path / "o"), git_token="ghp-canary-git-token")
        inv = build_invocation(local, dagger_bin="dagger", module="m", base_env={})
        assert GIT_TOKEN_ENV not in inv.env and not any("git-token" in a for a in inv.argv)

    def test_setup_command_and_image_are_passed_when_present(self, tmp_path: Path) -> None:
        job = make_job(tmp_path, setup_command="npm ci", image="node:22-bookworm")
        argv = build_invocation(job, dagger_bin="dagger", module="m", base_env={}).argv
        assert "--setup-command=npm ci" in argv and "--image=node:22-bookworm" in argv
        plain = build_invocation(make_job(tmp_path), dagger_bin="dagger", module="m", base_env={})
        assert not any(a.startswith(("--setup-command", "--image")) for a in plain.argv)

    def test_no_tokens_no_secret_flags(self, tmp_path: Path) -> None:
        job = make_job(tmp_path, gateway_token=None, relay_url=None, relay_token=None)
        inv = build_invocation(job, dagger_bin="dagger", module="m", base_env={})
        assert not any("env://" in a for a in inv.argv)
        assert GATEWAY_TOKEN_ENV not in inv.env and RELAY_TOKEN_ENV not in inv.env

    def test_host_service_addresses(self) -> None:
        assert host_service("http://0.0.0.0:8000/x/") == ("tcp://127.0.0.1:8000", "/x")
        assert host_service("http://localhost:9/a?b=1") == ("tcp://localhost:9", "/a?b=1")
        assert host_service("http://[::1]:7") == ("tcp://[::1]:7", "")
        with pytest.raises(InvocationError):
            host_service("https://127.0.0.1:8443")

    def test_parse_result(self) -> None:
        assert parse_result('{"exit_code": 0}\n') == {"exit_code": 0}
        assert parse_result('warning: x\n{"exit_code": 1}') == {"exit_code": 1}
        assert parse_result("Error: no result") is None
        assert parse_result("[1, 2]") is None


class TestAvailability:
    async def test_missing_cli(self) -> None:
        result = await DaggerRunner(dagger_bin="aideator-no-such-dagger").availability()
        assert not result.ok
        assert "aideator-no-such-dagger" in result.detail
        assert result.hint == INSTALL_HINT

    async def test_cli_without_any_container_runtime(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_stand_in(tmp_path / "bin")
        monkeypatch.setenv("PATH", str(tmp_path / "bin"))
        monkeypatch.delenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST", raising=False)
        result = await DaggerRunner().availability()
        assert not result.ok
        assert "no docker, podman, nerdctl or finch" in result.detail
        assert result.hint == ENGINE_HINT
        assert result.limits is not None and "no CPU/memory limit" in result.limits

    async def test_docker_cli_without_daemon(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_stand_in(tmp_path / "bin")
        write_tool(tmp_path / "bin", "docker", 'echo "Cannot connect to the Docker daemon"; exit 1')
        monkeypatch.setenv("PATH", str(tmp_path / "bin"))
        monkeypatch.delenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST", raising=False)
        result = await DaggerRunner().availability()
        assert not result.ok
        assert "Cannot connect to the Docker daemon" in result.detail

    async def test_reachable_docker_or_remote_engine(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_stand_in(tmp_path / "bin")
        monkeypatch.setenv("PATH", str(tmp_path / "bin"))
        monkeypatch.setenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "tcp://engine:1234")
        remote = await DaggerRunner().availability()
        assert remote.ok and "_EXPERIMENTAL_DAGGER_RUNNER_HOST" in remote.detail
        monkeypatch.delenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST")
        write_tool(tmp_path / "bin", "podman", "echo ok")
        local = await DaggerRunner().availability()
        assert local.ok and "podman" in local.detail

    async def test_cli_older_than_the_module_engine(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_stand_in(tmp_path / "bin")
        monkeypatch.setenv("PATH", str(tmp_path / "bin"))
        monkeypatch.setenv("FAKE_DAGGER_VERSION", "dagger v0.18.2 (stand-in)")
        monkeypatch.setenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "tcp://engine:1234")
        result = await DaggerRunner(module=dagger_module_dir()).availability()
        assert not result.ok and "older than" in result.detail

    async def test_module_without_dagger_json(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_stand_in(tmp_path / "bin")
        monkeypatch.setenv("PATH", str(tmp_path / "bin"))
        result = await DaggerRunner(module=tmp_path).availability()
        assert not result.ok and "no dagger.json" in result.detail

    async def test_result_is_cached_briefly(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_stand_in(tmp_path / "bin")
        monkeypatch.setenv("PATH", str(tmp_path / "bin"))
        monkeypatch.setenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "tcp://engine:1234")
        cached, uncached = DaggerRunner(availability_ttl=60), DaggerRunner(availability_ttl=0)
        assert (await cached.availability()).ok and (await uncached.availability()).ok
        monkeypatch.delenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST")
        assert (await cached.availability()).ok
        assert not (await uncached.availability()).ok


class TestRun:
    @pytest.fixture
    def record(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        path = tmp_path / "record.json"
        monkeypatch.setenv("FAKE_DAGGER_RECORD", str(path))
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-real-key-on-the-host")
        return path

    async def test_the_prompt_travels_in_a_file_not_in_argv(
        self, tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "result")
        # 200 KB of 3-byte characters: far beyond Linux's 128 KiB cap on one argument.
        prompt = "\u00e9\u4e2d" * 100_000
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")))
        (done,) = await collect(runner.run(make_job(tmp_path, prompt=prompt)))
        assert isinstance(done, AgentExit) and done.error is None, done
        seen = load_record(record)
        assert seen is not None
        argv = [str(a) for a in seen["argv"]]  # type: ignore[attr-defined]
        (flag,) = [a for a in argv if a.startswith("--prompt-file=")]
        assert not any(a.startswith("--prompt=") for a in argv)
        assert max(len(a.encode()) for a in argv) < 4096
        assert seen["prompt_file_text"] == prompt
        assert load_record(Path(flag.partition("=")[2])) is None  # removed after the call

    async def test_final_result_from_stdout(
        self, tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "result")
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")))
        items = await collect(runner.run(make_job(tmp_path)))
        assert len(items) == 1 and isinstance(items[0], AgentExit)
        done = items[0]
        assert done.exit_code == 0 and done.error is None and not done.timed_out
        assert done.final_result is not None
        assert done.final_result["diff_stats"] == {"files": 1, "insertions": 1, "deletions": 1}
        assert done.final_result["diff"].startswith("diff --git a/x.py")
        assert done.debug_log is not None and "token ***" in done.debug_log
        assert GATEWAY_TOKEN not in done.debug_log
        seen: dict[str, Any] = load_record(record) or {}
        assert GATEWAY_TOKEN not in json.dumps(seen["argv"])
        assert seen["argv"][-1] == "result" and "stream-agent" in seen["argv"]
        assert seen["env"][GATEWAY_TOKEN_ENV] == GATEWAY_TOKEN
        assert seen["env"][RELAY_TOKEN_ENV] == RELAY_TOKEN
        assert "ANTHROPIC_API_KEY" not in seen["env"]

    async def test_agent_failure_is_reported_with_its_result(
        self, tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "agent-failed")
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")))
        (done,) = await collect(runner.run(make_job(tmp_path)))
        assert isinstance(done, AgentExit)
        assert done.exit_code == 3 and done.final_result is not None and done.error is None

    async def test_cli_failure_without_result(
        self, tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "no-result")
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")))
        (done,) = await collect(runner.run(make_job(tmp_path)))
        assert isinstance(done, AgentExit)
        assert done.exit_code is None and done.final_result is None
        assert done.error is not None and "exited 1" in done.error
        assert "engine exploded" in done.error

    async def test_cli_that_cannot_start(self, tmp_path: Path) -> None:
        runner = DaggerRunner(dagger_bin=str(tmp_path / "nowhere" / "dagger"))
        (done,) = await collect(runner.run(make_job(tmp_path)))
        assert isinstance(done, AgentExit)
        assert done.error is not None and "could not start the dagger CLI" in done.error

    async def test_unusable_service_url_fails_the_variation(self, tmp_path: Path) -> None:
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")))
        job = make_job(tmp_path, gateway_url="https://127.0.0.1:8443")
        (done,) = await collect(runner.run(job))
        assert isinstance(done, AgentExit)
        assert done.error is not None and "http://" in done.error

    async def test_cancellation_kills_the_process_group(
        self, tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "sleep")
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")))
        task = asyncio.create_task(collect(runner.run(make_job(tmp_path))))
        seen = await wait_for_file(record)
        pids = [int(str(seen["pid"])), int(str(seen["grandchild"]))]
        assert all(alive(pid) for pid in pids)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_gone(pids)
        assert time.monotonic() - started < 5

    async def test_sigterm_ignored_then_sigkill(
        self, tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "stubborn")
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")), grace_seconds=0.5)
        task = asyncio.create_task(collect(runner.run(make_job(tmp_path))))
        seen = await wait_for_file(record)
        pids = [int(str(seen["pid"])), int(str(seen["grandchild"]))]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_gone(pids, timeout=3)

    async def test_timeout(
        self, tmp_path: Path, record: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_DAGGER_MODE", "sleep")
        runner = DaggerRunner(dagger_bin=str(write_stand_in(tmp_path / "bin")))
        started = time.monotonic()
        (done,) = await collect(runner.run(make_job(tmp_path, timeout_seconds=1.0)))
        assert isinstance(done, AgentExit)
        assert done.timed_out and done.exit_code is None
        assert time.monotonic() - started < 6
        seen = load_record(record) or {}
        await wait_gone([int(str(seen["pid"])), int(str(seen["grandchild"]))])
