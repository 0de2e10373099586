"""Whether the dagger backend can run here: the CLI, the module, and an engine to talk to."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.runners.base import Availability
from app.runners.child import kill_group

INSTALL_HINT = "install the Dagger CLI: https://docs.dagger.io/install"
ENGINE_HINT = (
    "start Docker (or Podman/nerdctl/finch) so the CLI can start its engine, "
    "or set _EXPERIMENTAL_DAGGER_RUNNER_HOST to a running Dagger engine"
)
LIMITS = (
    "none per container: Dagger has no CPU/memory limit API; only the wall-clock timeout "
    "is enforced (size the engine's host or Kubernetes pod instead)"
)
CONTAINER_RUNTIMES = ("docker", "podman", "nerdctl", "finch")
RUNNER_HOST_ENV = "_EXPERIMENTAL_DAGGER_RUNNER_HOST"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def _version_tuple(text: str) -> tuple[int, ...] | None:
    match = _VERSION.search(text)
    return tuple(int(part) for part in match.groups()) if match else None


async def _probe(argv: Sequence[str], env: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """Run a short command; its exit code (-1: did not finish) and its combined output."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return -1, str(exc)
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
    except TimeoutError:
        kill_group(proc.pid)
        await proc.wait()
        return -1, f"no answer within {timeout:g} s"
    return proc.returncode or 0, out.decode("utf-8", "replace").strip()


async def probe_cli_and_engine(
    dagger_bin: str, module: str, *, pool: bool, probe_timeout: float
) -> Availability:
    """CLI present, module found with a compatible engine version, and an engine to use."""
    env = dict(os.environ)
    path = env.get("PATH", os.defpath)
    exe = shutil.which(dagger_bin, path=path)
    if exe is None:
        return Availability(
            ok=False,
            detail=f"the dagger CLI ({dagger_bin!r}) was not found",
            hint=INSTALL_HINT,
            limits=LIMITS,
        )
    has_config, wanted = await asyncio.to_thread(module_engine_version, module)
    if not has_config:
        return Availability(
            ok=False,
            detail=f"no dagger.json in the module path {module}",
            hint="pass DaggerRunner(module=...) the AIdeator repository root or a git ref "
            "of it, e.g. github.com/<owner>/aideator@<tag>",
            limits=LIMITS,
        )
    code, out = await _probe([exe, "version"], env, probe_timeout)
    if code != 0:
        return Availability(
            ok=False, detail=f"`dagger version` failed: {out[-300:]}", hint=INSTALL_HINT
        )
    have = _version_tuple(out)
    if wanted and have and have < wanted:
        return Availability(
            ok=False,
            detail=f"dagger CLI {out} is older than the module's engine "
            f"v{'.'.join(map(str, wanted))}",
            hint=INSTALL_HINT,
            limits=LIMITS,
        )
    if pool:
        return Availability(ok=True, detail=f"{out}; engine pool", limits=LIMITS)
    if env.get(RUNNER_HOST_ENV):
        detail = f"{out}; remote engine from {RUNNER_HOST_ENV}"
        return Availability(ok=True, detail=detail, limits=LIMITS)
    problems = []
    for runtime in CONTAINER_RUNTIMES:
        runtime_exe = shutil.which(runtime, path=path)
        if runtime_exe is None:
            continue
        code, info = await _probe([runtime_exe, "info"], env, probe_timeout)
        if code == 0:
            detail = f"{out}; engine started through {runtime}"
            return Availability(ok=True, detail=detail, limits=LIMITS)
        problems.append(f"`{runtime} info` failed: {info.splitlines()[-1] if info else code}")
    why = "; ".join(problems) or "no docker, podman, nerdctl or finch on PATH"
    return Availability(
        ok=False,
        detail=f"{out} found, but it has no engine to talk to ({why})",
        hint=ENGINE_HINT,
        limits=LIMITS,
    )


def module_engine_version(module: str) -> tuple[bool, tuple[int, ...] | None]:
    """Whether a local module has its dagger.json, and the engineVersion pinned there."""
    path = Path(module)
    if not (path.is_absolute() or path.exists()):
        return True, None  # a remote module ref: the CLI resolves it
    try:
        config = json.loads((path / "dagger.json").read_text())
    except (OSError, ValueError):
        return False, None
    return True, _version_tuple(str(config.get("engineVersion", "")))
