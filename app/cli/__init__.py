"""The `aideator` command: run, compare, runs, serve, demo, export-preferences."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Annotated

import typer

from app.cli import (
    commands_deliver,  # noqa: F401  (adds `runs push` and `runs apply`)
    commands_fork,  # noqa: F401  (adds `runs fork`)
    commands_reply,  # noqa: F401  (adds `runs reply`)
)
from app.cli.commands_db import db_app
from app.cli.commands_demo import demo
from app.cli.commands_export import export_preferences
from app.cli.commands_run import compare, run
from app.cli.commands_runs import runs_app
from app.cli.commands_serve import serve
from app.cli.console import print_error
from app.cli.errors import EXIT_USAGE, CliError
from app.cli.options import GLOBAL
from app.config import SettingsError
from app.package_files import version

app = typer.Typer(
    name="aideator",
    help="Run one coding task as N isolated agent variations, watch them live, keep the best.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    epilog="New here? Try `aideator demo`. Every command and exit code: docs/cli.md.",
    pretty_exceptions_show_locals=False,  # locals can hold secrets
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"aideator {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and server logs on errors.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the installed version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Run one coding task as N isolated agent variations, watch them live, keep the best.

    Commands that talk to a server use --server URL (or AIDEATOR_SERVER); without it they
    start an embedded server on the same database `aideator serve` uses.
    """
    GLOBAL.debug = debug


app.command()(run)
app.command()(compare)
app.add_typer(runs_app)
app.command()(serve)
app.command()(demo)
app.command("export-preferences")(export_preferences)
app.add_typer(db_app)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # A CI job's timeout sends SIGTERM: stop the way Ctrl-C does (the run is cancelled).
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point: errors become one line plus a hint (a traceback with --debug)."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except CliError as exc:
        if GLOBAL.debug:
            raise
        print_error(exc)
        sys.exit(exc.exit_code)
    except SettingsError as exc:
        print_error(CliError(str(exc), hint="fix those variables (see .env.example)"))
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        if GLOBAL.debug:
            raise
        print_error(
            CliError(
                f"unexpected {type(exc).__name__}: {exc}",
                hint="run again with --debug to see where it happened",
            )
        )
        sys.exit(EXIT_USAGE)


__all__ = ["app", "main"]
