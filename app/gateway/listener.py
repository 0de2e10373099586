"""Serve an ASGI app from inside a running event loop on loopback TCP and/or a Unix socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

UNIX_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL
STARTUP_POLL_SECONDS = 0.01
STARTUP_TIMEOUT_SECONDS = 10.0


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers to the host."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Do not touch signals: the host server owns them and calls `stop()`."""
        yield


def bind_tcp(host: str, port: int) -> socket.socket:
    """A bound TCP socket (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def bind_unix(path: Path) -> socket.socket:
    """A bound Unix stream socket at `path`, replacing a stale socket file."""
    if len(os.fsencode(path)) > UNIX_PATH_MAX:
        raise ValueError(f"unix socket path is too long ({UNIX_PATH_MAX} bytes max): {path}")
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise FileExistsError(f"{path} exists and is not a socket")
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(path))
        # Anyone who can reach the socket file may connect; the token is the credential and
        # the socket's directory decides who can reach it. Sandboxes may run as another uid.
        path.chmod(0o666)
    except OSError:
        sock.close()
        raise
    return sock


class Listener:
    """One uvicorn server, run as an asyncio task over pre-bound sockets."""

    def __init__(self, app: ASGIApp, *, graceful_shutdown_seconds: int = 5) -> None:
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,  # the host configured logging; never reconfigure it
            server_header=False,
            timeout_graceful_shutdown=graceful_shutdown_seconds,
            ws="none",
        )
        self._server = EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self._grace = graceful_shutdown_seconds

    async def start(self, sockets: list[socket.socket]) -> None:
        """Start serving and return once the sockets accept connections."""
        self._task = asyncio.create_task(self._server.serve(sockets=sockets), name="gateway")
        async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
            while not self._server.started:
                if self._task.done():
                    await self._task  # re-raises the startup error
                    raise RuntimeError("gateway server stopped during startup")
                await asyncio.sleep(STARTUP_POLL_SECONDS)

    async def stop(self) -> None:
        """Stop accepting, let requests finish for the grace period, then cancel them."""
        task, self._task = self._task, None
        if task is None:
            return
        self._server.should_exit = True
        try:
            async with asyncio.timeout(self._grace + 5.0):
                await task
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
