"""Which server a command talks to: `--server URL`, or an embedded one started for it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.cli.client import ApiClient
from app.cli.console import notice
from app.cli.embedded import EmbeddedServer, bind_loopback
from app.cli.errors import CliError
from app.cli.server_lock import ServerLock
from app.config import Settings, describe_errors


@dataclass
class Connection:
    """A client, and the embedded server behind it when there is one."""

    client: ApiClient
    embedded: EmbeddedServer | None = None

    @property
    def url(self) -> str:
        """Base URL of the server in use."""
        return self.client.base_url


def embedded_settings(port: int, *, debug: bool, overrides: Mapping[str, Any]) -> Settings:
    """Settings from the environment, bound to 127.0.0.1:port, quiet unless --debug."""
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port}
    if not debug:
        values["log_level"] = "error"
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        lines = describe_errors(exc).splitlines()
        raise CliError(
            lines[0] + " " + "; ".join(line.strip() for line in lines[1:]),
            hint="fix those AIDEATOR_* variables (see .env.example)",
        ) from None


def with_own_key(settings: Settings) -> tuple[Settings, str | None]:
    """When the settings turn API keys on, add a fresh key for this command's own client."""
    if not settings.auth_enabled:
        return settings, None
    key = secrets.token_urlsafe(32)
    keys = f"{settings.api_keys},{key}" if settings.api_keys else key
    return settings.model_copy(update={"api_keys": keys}), key


def _bind(port: int) -> Any:
    try:
        return bind_loopback(port)
    except OSError:
        return bind_loopback(0)  # the preferred port is taken: any free one will do


@contextmanager
def connect(
    server: str | None,
    *,
    debug: bool = False,
    overrides: Mapping[str, Any] | None = None,
    port: int = 0,
    api_key: str | None = None,
) -> Iterator[Connection]:
    """A connection for one command; an embedded server lives as long as the `with` block.

    `overrides` are Settings fields for an embedded server only (e.g. allow_local_repos);
    `api_key` is for a running server that wants one.
    """
    if server:
        with ApiClient(server, api_key=api_key) as client:
            yield Connection(client)
        return
    sock = _bind(port)
    try:
        settings = embedded_settings(sock.getsockname()[1], debug=debug, overrides=overrides or {})
    except CliError:
        sock.close()
        raise
    lock = ServerLock(settings.data_dir)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if not lock.acquire(kind="embedded", url=url):
        sock.close()
        with _shared_server(lock, api_key) as client:
            yield Connection(client)
        return
    try:
        settings, own_key = with_own_key(settings)
        embedded = EmbeddedServer(settings, sock, debug=debug)
        embedded.start()
        try:
            with ApiClient(embedded.url, api_key=own_key) as client:
                yield Connection(client, embedded)
        finally:
            embedded.stop()
    finally:
        lock.release()


@contextmanager
def _shared_server(lock: ServerLock, api_key: str | None) -> Iterator[ApiClient]:
    holder = lock.holder()
    if holder.get("kind") == "serve" and holder.get("url"):
        client = ApiClient(str(holder["url"]), api_key=api_key)
        if client.health():
            notice(f"using the AIdeator server at {client.base_url}")
            with client:
                yield client
            return
        client.close()
    raise CliError(
        f"another aideator process (pid {holder.get('pid', '?')}) is using the data directory "
        f"{lock.path.parent}",
        hint="run `aideator serve` once and pass --server URL to share it, or wait for it to end",
    )
