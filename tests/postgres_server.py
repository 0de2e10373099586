"""A real PostgreSQL server for tests: Debian's binaries, a temporary cluster, loopback only.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
(`runuser`); as any other user it simply runs as that user.

A cluster lives in `<tmp>/aideator-pg-*` with an `owner` file naming the process that made
it (pid and start time). A test session killed before its teardown leaves its cluster
behind; the next `PostgresServer` removes such leftovers first (`remove_stale`): a cluster
whose owner is gone (its postmaster, if still up, is shut down first), or one without an
owner file whose postmaster is dead. A cluster of a live session is never touched.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from tests.server_process import free_port

TEMPLATE = "aideator_template"
PREFIX = "aideator-pg-"
# A leftover without an owner file and without a postmaster may be one being created
# right now (initdb runs before the postmaster writes its pid file): only older ones go.
UNOWNED_GRACE_SECONDS = 600


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a live process (tells a pid from a reused one), or None
    (also for a zombie: dead, only not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def _owner_alive(root: Path) -> bool | None:
    """Whether the process that made this cluster still runs; None without an owner file."""
    try:
        pid_text, started = (root / "owner").read_text().split()
    except (OSError, ValueError):
        return None
    return _start_time(int(pid_text)) == started


def _postmaster(root: Path) -> int | None:
    """The pid of the cluster's running postmaster, or None."""
    try:
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    return pid if comm.startswith("postgres") else None


def _shut_down(pid: int, timeout: float = 10.0) -> None:
    """Immediate shutdown of a postmaster (SIGQUIT), waiting until it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + timeout
    while _start_time(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)


def remove_stale(tmp: Path | None = None) -> list[Path]:
    """Remove clusters left by test sessions that are gone; the removed roots."""
    removed = []
    for root in sorted(Path(tmp or tempfile.gettempdir()).glob(f"{PREFIX}*")):
        owner = _owner_alive(root)
        if owner:
            continue
        postmaster = _postmaster(root)
        if owner is None:
            if postmaster is not None:
                continue  # no owner file and running: not ours to judge
            try:
                age = time.time() - root.stat().st_mtime
            except OSError:
                continue
            if age < UNOWNED_GRACE_SECONDS and not (root / "data" / "postmaster.pid").exists():
                continue
        elif postmaster is not None:
            _shut_down(postmaster)
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            removed.append(root)
    return removed


def postgres_bin() -> Path | None:
    """The directory of Debian's PostgreSQL binaries, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One throwaway cluster; `new_database()` hands out migrated, empty databases."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (make install adds `postgresql`)")
        self.bin = bin_dir
        remove_stale()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        me = os.getpid()
        (self.root / "owner").write_text(f"{me} {_start_time(me)}\n")
        self.data = self.root / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        self._template_ready = False

    def _run(self, *argv: str) -> None:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def start(self) -> PostgresServer:
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300 -c shared_buffers=64MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "-l",
            str(self.root / "server.log"),
            "start",
        )
        # Also on a normal interpreter exit that skipped the teardown (and on SIGTERM,
        # which `stop_on_sigterm` turns into one).
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Shut the cluster down and remove its directory (idempotent)."""
        atexit.unregister(self.stop)
        if not self.root.exists():
            return
        try:
            postmaster = _postmaster(self.root)
            if postmaster is not None:
                _shut_down(postmaster)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url("postgres", "postgresql"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def new_database(self, *, migrated: bool = True) -> str:
        """The URL of a fresh database (at the head schema unless `migrated=False`)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        if not migrated:
            await self._admin(f"CREATE DATABASE {name}")
            return self.url(name)
        if not self._template_ready:
            await self._admin(f"CREATE DATABASE {TEMPLATE}")
            from app import schema
            from app.db import Database

            db = Database(self.url(TEMPLATE))
            try:
                await schema.upgrade(db)
            finally:
                await db.dispose()
            self._template_ready = True
        await self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)


def wait_ready(server: PostgresServer, timeout: float = 30.0) -> None:
    """Block until the server accepts connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            server._run("pg_isready", "-h", "127.0.0.1", "-p", str(server.port))
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop_on_sigterm() -> None:
    """Make SIGTERM (what `timeout` sends) end this process like Ctrl-C, so teardowns and
    atexit handlers still stop the cluster; a handler someone else installed is kept.

    Only the first one interrupts: `timeout` signals both its child and the process group,
    and a second interrupt would cut the teardown short."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    interrupted = False

    def interrupt(signum: int, frame: object) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
