"""`aideator serve`: the AIdeator server in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.console import notice, warn
from app.cli.errors import CliError
from app.cli.options import GLOBAL
from app.cli.runs_common import SCRIPTED_WARNING
from app.cli.server_lock import ServerLock


def is_loopback(host: object) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default from AIDEATOR_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from AIDEATOR_PORT).")] = None,
) -> None:
    """Run the AIdeator server (API, live streams and web page) until Ctrl-C."""
    import uvicorn

    from app.config import get_settings
    from app.main import create_app

    settings = get_settings()
    updates: dict[str, object] = {}
    if host:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    if not settings.auth_enabled and not is_loopback(updates.get("host", settings.host)):
        # Without API keys anyone who reaches the port could run code: stay on loopback.
        warn(
            f"no AIDEATOR_API_KEYS configured: serving on 127.0.0.1 only, not "
            f"{updates.get('host', settings.host)}"
        )
        updates["host"] = "127.0.0.1"
    if updates:
        # Links and relay URLs must name the address actually served.
        settings = settings.model_copy(update=updates)
    lock = ServerLock(settings.data_dir)
    if not lock.acquire(
        kind="serve", url=settings.server_url, allow_local_repos=settings.allow_local_repos
    ):
        holder = lock.holder()
        raise CliError(
            f"another aideator process (pid {holder.get('pid', '?')}) serves the data directory "
            f"{settings.data_dir} at {holder.get('url', '?')}",
            hint="use that one (--server URL), stop it, or set AIDEATOR_DATA_DIR and "
            "AIDEATOR_DATABASE_URL to other places",
        )
    try:
        if settings.uses_scripted_model:
            warn(SCRIPTED_WARNING)
        notice(f"AIdeator at {settings.server_url} (backend {settings.backend}); Ctrl-C stops it")
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="info" if GLOBAL.debug else "warning",
            timeout_graceful_shutdown=int(settings.cancel_grace_seconds) + 5,
        )
    finally:
        lock.release()
