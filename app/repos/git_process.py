"""Run git as a hardened subprocess: fixed config, no prompts, time and size limits."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.errors import RepoError
from app.repos.credentials import GitCredential
from app.repos.directories import directory_bytes

log = structlog.get_logger()

STDERR_KEEP_BYTES = 8192
STDOUT_MAX_BYTES = 16 * 1024 * 1024
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")

# Applied to every git call with -c, so they beat any repository's own config.
HARDENING_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("credential.helper", ""),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("protocol.allow", "never"),
    ("protocol.https.allow", "always"),
    ("http.followRedirects", "false"),
    ("http.sslVerify", "true"),
    ("transfer.credentialsInUrl", "die"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("init.defaultBranch", "main"),
    ("advice.detachedHead", "false"),
)


@dataclass(frozen=True)
class GitSettings:
    """How git is run: its private HOME and template dir, and which transports it may use."""

    home: Path
    template_dir: Path
    allow_http: bool = False
    allow_file: bool = False
    git_binary: str = "git"
    credential: GitCredential | None = None  # scoped to its own origin by git_config_args


@functools.cache
def _tool_paths(git_binary: str) -> tuple[str, str]:
    """(PATH for git, a program that prints nothing), looked up once per process."""
    never = shutil.which("true") or "/bin/true"
    git_dir = os.path.dirname(shutil.which(git_binary) or "/usr/bin/git")
    return os.pathsep.join(dict.fromkeys([git_dir, "/usr/local/bin", "/usr/bin", "/bin"])), never


def git_environment(settings: GitSettings) -> dict[str, str]:
    """A clean environment: nothing inherited, no user or system config, no prompts."""
    path, never = _tool_paths(settings.git_binary)
    protocols = ["https"] + ["http"] * settings.allow_http + ["file"] * settings.allow_file
    return {
        "PATH": path,
        "HOME": str(settings.home),
        "XDG_CONFIG_HOME": str(settings.home / ".config"),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": never,
        "SSH_ASKPASS": never,
        "GIT_ALLOW_PROTOCOL": ":".join(protocols),
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_TEMPLATE_DIR": str(settings.template_dir),
        "GIT_NO_REPLACE_OBJECTS": "1",
        **(settings.credential.environment() if settings.credential is not None else {}),
    }


def git_config_args(settings: GitSettings, extra: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The `-c key=value` arguments every call gets, plus any call-specific ones."""
    pairs = list(HARDENING_CONFIG)
    if settings.allow_http:
        pairs.append(("protocol.http.allow", "always"))
    if settings.allow_file:
        pairs.append(("protocol.file.allow", "always"))
    if settings.credential is not None:
        pairs.extend(settings.credential.config())
    pairs.extend(extra)
    return [arg for key, value in pairs for arg in ("-c", f"{key}={value}")]


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def _read_tail(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Read a stream to its end, keeping only the last `keep` bytes (git stderr can be long)."""
    tail = b""
    while chunk := await stream.read(65536):
        tail = (tail + chunk)[-keep:]
    return tail


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> bytes:
    data = bytearray()
    while chunk := await stream.read(65536):
        if len(data) + len(chunk) > cap:
            raise RepoError("git printed more output than expected")
        data += chunk
    return bytes(data)


async def _watch_size(path: Path, limit: int, proc: asyncio.subprocess.Process) -> bool:
    """Poll a directory's size while git writes to it; kill git when it passes the limit."""
    loop = asyncio.get_running_loop()
    pause = 0.2  # short commands finish before the first poll; the caller measures at the end
    while True:
        await asyncio.sleep(pause)
        if proc.returncode is not None:
            return False
        started = loop.time()
        if await asyncio.to_thread(directory_bytes, path) > limit:
            _kill_group(proc)
            return True
        # Walking a big tree is not free: poll less often when it takes long.
        pause = max(0.2, 4 * (loop.time() - started))


def describe_failure(stderr: bytes, *, hide: Sequence[str] = ()) -> str:
    """Git's last stderr lines, with URL credentials and host paths removed."""
    text = stderr.decode("utf-8", "replace")
    for secret in hide:
        text = text.replace(secret, "<cache>")
    text = _CREDENTIALS.sub(r"\1***@", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " / ".join(lines[-3:])[-600:] or "no message"


def _too_big(what: str, max_bytes: int) -> RepoError:
    return RepoError(
        f"{what} stopped: the repository is larger than the {max_bytes}-byte limit",
        details={"field": "repo_url"},
    )


async def run_git_status(
    args: Sequence[str],
    *,
    settings: GitSettings,
    what: str,
    limit_seconds: float,
    extra_config: Sequence[tuple[str, str]] = (),
    watch: Path | None = None,
    max_bytes: int | None = None,
    baseline_bytes: int = 0,
    extra_env: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    """Run one git command; return (exit code, stdout, stderr tail). Raises on time/size.

    With `watch`, the directory may grow to `baseline_bytes + max_bytes` before git is killed.
    """
    argv = [settings.git_binary, *git_config_args(settings, extra_config), *args]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=git_environment(settings) | (extra_env or {}),
        start_new_session=True,  # its own process group, so a kill reaches every helper
    )
    assert proc.stdout is not None and proc.stderr is not None
    watcher = None
    if watch is not None and max_bytes is not None:
        watcher = asyncio.create_task(_watch_size(watch, baseline_bytes + max_bytes, proc))
    try:
        async with asyncio.timeout(limit_seconds):
            stdout, stderr, _ = await asyncio.gather(
                _read_capped(proc.stdout, STDOUT_MAX_BYTES),
                _read_tail(proc.stderr, STDERR_KEEP_BYTES),
                proc.wait(),
            )
    except TimeoutError:
        _kill_group(proc)
        await proc.wait()
        log.warning("git_timed_out", what=what, limit_seconds=limit_seconds)
        raise RepoError(
            f"{what} timed out after {limit_seconds:g} s", details={"field": "repo_url"}
        ) from None
    except BaseException:
        _kill_group(proc)
        await proc.wait()
        raise
    finally:
        if watcher is not None and not watcher.done():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    if watch is not None and max_bytes is not None:
        # A fast git can finish between two polls: measure once more at the end.
        if watcher is not None and not watcher.cancelled() and watcher.result():
            raise _too_big(what, max_bytes)
        if await asyncio.to_thread(directory_bytes, watch) > baseline_bytes + max_bytes:
            raise _too_big(what, max_bytes)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode("utf-8", "replace"), stderr


async def run_git(
    args: Sequence[str],
    *,
    settings: GitSettings,
    what: str,
    limit_seconds: float,
    extra_config: Sequence[tuple[str, str]] = (),
    watch: Path | None = None,
    max_bytes: int | None = None,
    baseline_bytes: int = 0,
    extra_env: dict[str, str] | None = None,
) -> str:
    """Run one git command; return stdout or raise RepoError (failure, timeout, size)."""
    code, stdout, stderr = await run_git_status(
        args,
        settings=settings,
        what=what,
        limit_seconds=limit_seconds,
        extra_config=extra_config,
        watch=watch,
        max_bytes=max_bytes,
        baseline_bytes=baseline_bytes,
        extra_env=extra_env,
    )
    if code != 0:
        hide = [str(settings.home.parent)]
        described = describe_failure(stderr, hide=hide)
        if settings.credential is not None and settings.credential.password:
            described = described.replace(settings.credential.password, "***")
        raise RepoError(
            f"{what} failed: {described}",
            details={"field": "repo_url", "git_exit_code": code},
        )
    return stdout
