"""bench/relay_path.py runs and accounts for every line (a small round; numbers not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_relay_path_benchmark_commits_every_line() -> None:
    res = subprocess.run(
        [sys.executable, "bench/relay_path.py", "--lines", "3000", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "3000 protocol lines" in res.stdout and "CPU per line" in res.stdout
