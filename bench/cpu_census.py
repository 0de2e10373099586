"""Where the machine's CPU goes over a window: per kind of process, from /proc.

`snapshot()` reads every process's CPU time so far; `spent(before, after)` is the CPU each
kind of process used between two snapshots (processes present in both). Kinds are told
apart by their command line.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_KINDS = (
    (b"emit_lines.py", "line generators"),
    (b"aideator_agent", "agent programs"),
    (b"uvicorn", "server"),
    (b"postgres", "PostgreSQL"),
)


@dataclass
class Snapshot:
    """CPU seconds per process (pid -> (kind, seconds)), and when."""

    processes: dict[int, tuple[str, float]]
    at: float


def _kind(pid: int, me: int, cmdline: bytes) -> str:
    if pid == me:
        return "measuring clients"
    for needle, kind in _KINDS:
        if needle in cmdline:
            return kind
    return "other"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def snapshot() -> Snapshot:
    """Every process's CPU time (user + system, all threads) so far."""
    me = os.getpid()
    processes: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            seconds = cpu_seconds(pid)
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        processes[pid] = (_kind(pid, me, cmdline), seconds)
    return Snapshot(processes, time.monotonic())


def spent(before: Snapshot, after: Snapshot) -> tuple[Counter[str], float]:
    """CPU seconds per kind between the snapshots ("other": what no kind matched), and the
    wall seconds between them."""
    per_kind: Counter[str] = Counter()
    for pid, (kind, seconds) in after.processes.items():
        earlier = before.processes.get(pid)
        if earlier is not None:
            per_kind[kind] += seconds - earlier[1]
    return per_kind, after.at - before.at
