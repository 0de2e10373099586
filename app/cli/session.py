"""Which server a command talks to: `--server URL`, or an embedded one started for it."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.cli.client import ApiClient
from app.cli.console import notice
from app.cli.embedded import EmbeddedServer, bind_loopback
from app.cli.errors import CliError
from app.cli.server_lock import ServerLock
from app.config import Settings, describe_errors

PRIVATE_DIR = "embedded"  # under the data directory: a command's own server when it must


@dataclass
class Connection:
    """A client, and the embedded server behind it when there is one."""

    client: ApiClient
    embedded: EmbeddedServer | None = None
    private_data: Path | None = None  # the embedded server's data directory

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
    embedded: bool = False,
    starts_run: bool = False,
) -> Iterator[Connection]:
    """A connection for one command; an embedded server lives as long as the `with` block.

    `overrides` are Settings fields for an embedded server only (e.g. allow_local_repos);
    `api_key` is for a running server that wants one. A running `aideator serve` on the same
    data directory is used only when it can do the job (local repositories need a server
    that accepts them); otherwise, or with `embedded`, a command that `starts_run` gets its
    own server with a private data directory beside the shared one. Commands that read
    existing runs never do: a private database would not have them.
    """
    if server and embedded:
        raise CliError("--server and --embedded exclude each other", hint="choose one")
    if server:
        with ApiClient(server, api_key=api_key) as client:
            yield Connection(client)
        return
    wanted = dict(overrides or {})
    private: Path | None = None
    sock = _bind(port)
    try:
        settings = embedded_settings(sock.getsockname()[1], debug=debug, overrides=wanted)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        lock = ServerLock(settings.data_dir)
        if not lock.acquire(kind="embedded", url=url):
            holder = lock.holder()
            if not embedded:
                shared = _shared_server(holder, api_key, wanted)
                if shared is not None:
                    sock.close()
                    with shared:
                        yield Connection(shared)
                    return
            if not starts_run:
                raise _busy(settings, holder)
            settings, lock = _private_settings(settings, url, holder, forced=embedded)
            private = settings.data_dir
    except BaseException:
        sock.close()
        raise
    try:
        settings, own_key = with_own_key(settings)
        server_obj = EmbeddedServer(settings, sock, debug=debug)
        server_obj.start()
        try:
            with ApiClient(server_obj.url, api_key=own_key) as client:
                yield Connection(client, server_obj, private_data=private)
        finally:
            server_obj.stop()
    finally:
        lock.release()


def _shared_server(
    holder: Mapping[str, Any], api_key: str | None, wanted: Mapping[str, Any]
) -> ApiClient | None:
    """The running `aideator serve` when it can do what this command needs, else None."""
    if holder.get("kind") != "serve" or not holder.get("url"):
        return None
    url = str(holder["url"])
    if wanted.get("allow_local_repos") and not holder.get("allow_local_repos"):
        notice(
            f"the AIdeator server at {url} does not accept local repositories "
            "(AIDEATOR_ALLOW_LOCAL_REPOS is off): this command starts its own server"
        )
        return None
    client = ApiClient(url, api_key=api_key)
    if client.health():
        notice(f"using the AIdeator server at {client.base_url} (--embedded: a private one)")
        return client
    client.close()
    return None


def _private_settings(
    settings: Settings, url: str, holder: Mapping[str, Any], *, forced: bool
) -> tuple[Settings, ServerLock]:
    """Settings with a data directory and database of this command's own, and its lock.

    Another process owns the shared data directory; two servers must never share one.
    """
    for place in _private_places(settings.data_dir):
        lock = ServerLock(place)
        if lock.acquire(kind="embedded", url=url):
            database = f"sqlite+aiosqlite:///{(place / 'aideator.db').resolve()}"
            private = settings.model_copy(update={"data_dir": place, "database_url": database})
            why = (
                "--embedded"
                if forced
                else f"pid {holder.get('pid', '?')} holds {settings.data_dir}"
            )
            notice(f"embedded server with its own data in {place} ({why})")
            return private, lock
    raise _busy(settings, holder)


def _busy(settings: Settings, holder: Mapping[str, Any]) -> CliError:
    return CliError(
        f"another aideator process (pid {holder.get('pid', '?')}) is using the data directory "
        f"{settings.data_dir}",
        hint="run `aideator serve` once and pass --server URL to share it, or wait for it to end",
    )


def _private_places(data_dir: Path) -> Iterator[Path]:
    yield data_dir / PRIVATE_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    yield Path(tempfile.mkdtemp(prefix=f"{PRIVATE_DIR}-", dir=data_dir))
