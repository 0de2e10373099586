"""Starts the real server (uvicorn in a subprocess) for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvicorn

from app.config import Settings
from app.runners.child import die_with_parent

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`uvicorn app.main:create_app` on 127.0.0.1 with AIDEATOR_* settings."""

    def __init__(self, data_dir: Path, *, port: int | None = None, **settings: str) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("AIDEATOR_", "ANTHROPIC_"))
            },
            "AIDEATOR_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'aideator.db'}",
            "AIDEATOR_DATA_DIR": str(data_dir / "data"),
            "AIDEATOR_BACKEND": "process",
            "AIDEATOR_ALLOW_UNSANDBOXED": "true",
            "AIDEATOR_ALLOW_LOCAL_REPOS": "true",
            "AIDEATOR_LOG_JSON": "true",
            "AIDEATOR_SSE_PING_INTERVAL": "1",
            **{f"AIDEATOR_{k.upper()}": v for k, v in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Generous: it returns as soon as the server answers; a loaded 2-core machine took > 30 s.
    def start(self, timeout: float = 120.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "app.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent,  # a killed test run leaves no server behind
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the server process only (as a crash would)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app on uvicorn in this event loop, on `settings.port` (agents and relays reach it
    over real HTTP); yields a client of it."""
    from app.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.02)
    try:
        base_url = f"http://127.0.0.1:{settings.port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task
