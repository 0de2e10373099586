"""Sampling profiles of the server under a benchmark (py-spy, a dev dependency).

`Profile(pid, path)` records the process while a scenario runs (py-spy needs ptrace: root, or
a kernel that allows it) and writes collapsed stacks to `path` (`.txt`) and a flame graph
beside it (`.svg`); `summary(path)` is the text digest the benchmarks print: the share of
samples spent directly inside (self) the busiest functions, and in (inclusive) the server's
own busiest functions.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

_PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


class Profile:
    """py-spy recording one process until `stop()` (nonblocking: it does not pause it)."""

    def __init__(self, pid: int, path: Path, rate: int = 250) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        common = ["--pid", str(pid), "--rate", str(rate), "--nonblocking", "--gil"]
        self._procs = [
            subprocess.Popen(
                [_PY_SPY, "record", *common, "--format", fmt, "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for fmt, out in (("raw", path), ("flamegraph", path.with_suffix(".svg")))
        ]

    def stop(self) -> None:
        """Stop sampling and write the files."""
        for proc in self._procs:
            proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _frame_name(frame: str) -> str:
    # py-spy raw frames read `function (file.py:line)`: keep function and file.
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':', 1)[0]})" if where else name


def summary(path: Path, top: int = 12) -> str:
    """The busiest functions of a raw py-spy profile, as text lines."""
    if not path.exists():
        return "  (no profile: py-spy could not attach; it needs ptrace, e.g. root)"
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            if "(app/" in name:  # the server's own functions, callees included
                inclusive[name] += count
    if not total:
        return "  (no samples)"
    lines = [f"  {total} samples holding the GIL; self time:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("  inclusive time of the server's own functions:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
