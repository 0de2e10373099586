"""The PostgreSQL test fixture cleans up after killed sessions, and only after them."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.postgres_server import PREFIX, PostgresServer, _start_time, remove_stale, wait_ready


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _cluster(tmp: Path, name: str, owner: str | None, postmaster_pid: int | None = None) -> Path:
    root = tmp / f"{PREFIX}{name}"
    (root / "data").mkdir(parents=True)
    if owner is not None:
        (root / "owner").write_text(owner)
    if postmaster_pid is not None:
        (root / "data" / "postmaster.pid").write_text(f"{postmaster_pid}\n/data\n")
    return root


def test_leftovers_of_dead_sessions_go_live_ones_stay(tmp_path: Path) -> None:
    me = os.getpid()
    live = _cluster(tmp_path, "live", f"{me} {_start_time(me)}")
    dead = _cluster(tmp_path, "dead", f"{_dead_pid()} 1", postmaster_pid=_dead_pid())
    reused = _cluster(tmp_path, "reused", f"{me} 1")  # our pid, another start time: not us
    crashed = _cluster(tmp_path, "crashed", None, postmaster_pid=_dead_pid())
    starting = _cluster(tmp_path, "starting", None)  # initdb may be running: too young
    old = _cluster(tmp_path, "old", None)
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    other = tmp_path / "unrelated"
    other.mkdir()

    removed = remove_stale(tmp_path)

    assert sorted(removed) == sorted([dead, reused, crashed, old])
    assert live.is_dir() and starting.is_dir() and other.is_dir()
    assert not any(p.exists() for p in removed)


def test_a_running_cluster_of_a_dead_session_is_shut_down_and_removed() -> None:
    orphan = PostgresServer().start()
    wait_ready(orphan)
    postmaster = int((orphan.data / "postmaster.pid").read_text().split()[0])
    try:
        # As if the session that started it had been SIGKILLed.
        (orphan.root / "owner").write_text(f"{_dead_pid()} 1")
        removed = remove_stale()
        assert orphan.root in removed
        assert not orphan.root.exists()
        assert _start_time(postmaster) is None, "the postmaster was shut down"
    finally:
        orphan.stop()
