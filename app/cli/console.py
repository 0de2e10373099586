"""The CLI's two consoles: results on stdout, notices and errors on stderr."""

from __future__ import annotations

from functools import cache

from rich.console import Console
from rich.text import Text

from app.cli.errors import CliError

PIPE_WIDTH = 120  # CI logs and pipes: wide enough that tables keep one row per line


def _console(stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = PIPE_WIDTH
    return console


@cache
def out() -> Console:
    """Standard output: lines, tables, reports."""
    return _console(stderr=False)


@cache
def err() -> Console:
    """Standard error: notices, warnings, errors."""
    return _console(stderr=True)


def notice(message: str) -> None:
    """A short note for the user (on stderr, so stdout stays clean for scripts)."""
    err().print(Text(message, style="dim"), soft_wrap=True)


def warn(message: str) -> None:
    """A warning the user should not miss."""
    err().print(Text(message, style="bold yellow"), soft_wrap=True)


def print_error(error: CliError) -> None:
    """`error: <message>` and, when known, `hint: <what to try>`."""
    err().print(Text.assemble(("error: ", "bold red"), error.message), soft_wrap=True)
    if error.hint:
        err().print(Text.assemble(("hint: ", "bold"), error.hint), soft_wrap=True)
