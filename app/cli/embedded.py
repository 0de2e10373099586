"""An in-process server for CLI commands run without `--server`: uvicorn in a background thread."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from app.cli.errors import CliError
from app.config import Settings

STARTUP_TIMEOUT = 60.0


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


class _Records(logging.Handler):
    """Keeps uvicorn's error records, so a failed startup can be told in one line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def reason(self) -> str:
        for record in reversed(self.records):
            if record.exc_info and record.exc_info[1] is not None:
                return str(record.exc_info[1]) or type(record.exc_info[1]).__name__
        return self.records[-1].getMessage() if self.records else "no reason given"


class EmbeddedServer:
    """`create_app(settings)` served on a socket we bound, in a daemon thread."""

    def __init__(self, settings: Settings, sock: socket.socket, *, debug: bool = False) -> None:
        from app.main import create_app

        self.settings = settings
        self._sock = sock
        self._records = _Records()
        self._debug = debug
        config = uvicorn.Config(
            create_app(settings),
            # Quiet unless --debug: errors are kept by _Records and told in one line.
            log_config=uvicorn.config.LOGGING_CONFIG if debug else None,
            log_level="info" if debug else "error",
            access_log=debug,
            lifespan="on",
            timeout_graceful_shutdown=int(settings.cancel_grace_seconds) + 5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="aideator-embedded"
        )
        self._thread.daemon = True

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Start serving; raise CliError if the app does not come up."""
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.addHandler(self._records)
        if not self._debug:
            uvicorn_log.propagate = False  # no traceback on the user's terminal
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise CliError(
                    f"the embedded server did not start: {self._records.reason()}",
                    hint="run with --debug for details, or use a running server with --server",
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down gracefully: live runs are interrupted and recorded, agents stopped."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        logging.getLogger("uvicorn.error").removeHandler(self._records)
        self._sock.close()
