"""The `aideator` command."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="aideator",
    help="Run one coding task as N isolated agent variations; keep the best.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def serve(
    host: str = typer.Option(None, help="Bind address (default from AIDEATOR_HOST)."),
    port: int = typer.Option(None, help="Port (default from AIDEATOR_PORT)."),
) -> None:
    """Run the AIdeator server."""
    import uvicorn

    from app.config import get_settings
    from app.main import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port if port is not None else settings.port,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.cancel_grace_seconds) + 5,
    )


def main() -> None:
    """Console-script entry point."""
    app()
