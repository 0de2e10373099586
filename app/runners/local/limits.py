"""Memory, process and CPU limits of one sandbox: a cgroup v2 leaf when delegated, else rlimits.

cgroups bound the sandbox as a whole (every process together) and report what they
enforced (`memory.events` oom_kill, `pids.events` max). rlimits are per process and set by
the launcher inside the sandbox's own user namespace, where RLIMIT_NPROC counts only that
sandbox's processes. Functions here do blocking file I/O: call them through a thread.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
SIGXCPU_EXIT = 128 + signal.SIGXCPU
MIB = 1024 * 1024

LimitMode = Literal["cgroups", "rlimits"]


@dataclass(frozen=True)
class LimitValues:
    """The limits one sandbox gets."""

    memory_mb: int
    pids_max: int
    cpus: float


@dataclass(frozen=True)
class LimitPlan:
    """How this machine enforces the limits."""

    mode: LimitMode
    detail: str
    cgroup_parent: Path | None = None


def cpu_seconds_for(values: LimitValues, wall_seconds: float) -> int:
    """RLIMIT_CPU per process: what `cpus` CPUs could burn in the wall-clock time allowed."""
    return max(1, math.ceil(values.cpus * wall_seconds))


def rlimit_args(values: LimitValues, *, wall_seconds: float, mode: LimitMode) -> list[str]:
    """The launcher's `--rlimit` arguments (no core files ever; the rest without cgroups)."""
    args = ["--rlimit", "CORE=0:0"]
    if mode == "rlimits":
        cpu_seconds = cpu_seconds_for(values, wall_seconds)
        args += [
            "--rlimit",
            f"DATA={values.memory_mb * MIB}:{values.memory_mb * MIB}",
            "--rlimit",
            f"NPROC={values.pids_max}:{values.pids_max}",
            # SIGXCPU at the soft limit, SIGKILL a second later for a process that ignores it.
            "--rlimit",
            f"CPU={cpu_seconds}:{cpu_seconds + 1}",
        ]
    return args


def own_cgroup(proc_cgroup: str) -> str | None:
    """This process's cgroup v2 path from /proc/self/cgroup text (`0::/path`)."""
    for line in proc_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:] or "/"
    return None


def _words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def _enable(cgroup: Path, names: set[str]) -> None:
    missing = names - _words(cgroup / "cgroup.subtree_control")
    if missing:
        text = " ".join(f"+{name}" for name in sorted(missing))
        (cgroup / "cgroup.subtree_control").write_text(text)


def prepare_parent(parent: Path) -> str | None:
    """Create the parent and delegate the controllers to its children; None when usable."""
    wanted = set(CONTROLLERS)
    try:
        parent.mkdir(exist_ok=True)
        if wanted - _words(parent / "cgroup.controllers"):
            _enable(parent.parent, wanted)
        missing = wanted - _words(parent / "cgroup.controllers")
        if missing:
            return f"controllers {', '.join(sorted(missing))} not delegated to {parent}"
        _enable(parent, wanted)
    except OSError as exc:
        return f"cannot use {parent}: {exc.strerror or exc}"
    return None


def plan_limits(
    *,
    wanted: Literal["auto", "cgroups", "rlimits"],
    parent: Path | None,
    root: Path = CGROUP_ROOT,
    proc_cgroup: Path = Path("/proc/self/cgroup"),
) -> LimitPlan:
    """Decide between cgroups and rlimits for this machine (creates the parent cgroup)."""
    if wanted == "rlimits":
        return LimitPlan("rlimits", "rlimits (configured)")
    problem: str | None
    if not (root / "cgroup.controllers").is_file():
        problem = f"no cgroup v2 hierarchy at {root}"
    else:
        if parent is None:
            own = own_cgroup(proc_cgroup.read_text()) if proc_cgroup.is_file() else None
            # Only at the root of a cgroup namespace is a sibling tree ours to create;
            # elsewhere the parent must be delegated explicitly.
            parent = root / "aideator" if own == "/" else None
        problem = (
            "set AIDEATOR_SANDBOX_CGROUP_PARENT to a delegated cgroup"
            if parent is None
            else prepare_parent(parent)
        )
    if problem is None and parent is not None:
        return LimitPlan("cgroups", f"cgroup v2 under {parent}", parent)
    return LimitPlan("rlimits", f"rlimits ({problem})")


class SandboxCgroup:
    """One sandbox's cgroup: limits in, counters out, removed at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.procs = path / "cgroup.procs"  # a process writing "0" here joins

    @classmethod
    def create(cls, parent: Path, name: str, values: LimitValues) -> SandboxCgroup:
        """A fresh leaf under `parent` with the limits written."""
        path = parent / name
        path.mkdir()
        (path / "memory.max").write_text(str(values.memory_mb * MIB))
        swap = path / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        (path / "pids.max").write_text(str(values.pids_max))
        quota = max(1000, int(values.cpus * CPU_PERIOD_US))
        (path / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
        return cls(path)

    def counters(self) -> dict[str, int]:
        """How often the memory and process limits were enforced."""
        return {
            "oom_kill": _event_count(self.path / "memory.events", "oom_kill"),
            "pids_max": _event_count(self.path / "pids.events", "max"),
        }

    def remove(self, attempts: int = 50) -> None:
        """Kill whatever is left inside and delete the cgroup."""
        kill = self.path / "cgroup.kill"
        for _ in range(attempts):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if kill.exists():
                    with contextlib.suppress(OSError):
                        kill.write_text("1")
                else:
                    for pid in _words(self.path / "cgroup.procs"):
                        with contextlib.suppress(OSError, ValueError):
                            os.kill(int(pid), signal.SIGKILL)
                time.sleep(0.02)


def _event_count(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def limit_reason(
    values: LimitValues,
    *,
    mode: LimitMode,
    counters: dict[str, int],
    exit_codes: tuple[int | None, ...],
    cpu_seconds: int,
) -> str | None:
    """Name the limit that ended the agent, if one did."""
    if counters.get("oom_kill", 0) > 0:
        return f"memory limit ({values.memory_mb} MB) exceeded"
    if counters.get("pids_max", 0) > 0:
        return f"process limit ({values.pids_max}) reached"
    if mode == "rlimits" and SIGXCPU_EXIT in exit_codes:
        return f"CPU time limit ({cpu_seconds} s per process) exceeded"
    return None
