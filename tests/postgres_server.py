"""A real PostgreSQL server for tests: Debian's binaries, a temporary cluster, loopback only.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
(`runuser`); as any other user it simply runs as that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from tests.server_process import free_port

TEMPLATE = "aideator_template"


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
        self.root = Path(tempfile.mkdtemp(prefix="aideator-pg-"))
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
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
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
