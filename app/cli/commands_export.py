"""`aideator export-preferences`: (winner, other variation) pairs as JSON Lines."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer

from app.cli.console import notice
from app.cli.errors import CliError
from app.cli.options import GLOBAL, ApiKeyOpt, ServerOpt
from app.cli.session import connect


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or time; no zone means UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"{name} {value!r} is not an ISO 8601 time",
            hint="e.g. 2026-01-31 or 2026-01-31T12:00:00Z",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def export_preferences(
    since: Annotated[
        str | None,
        typer.Option(help="Only runs that finished at or after this ISO time (UTC if no zone)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only runs that finished before this ISO time.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    include_diffs: Annotated[
        bool, typer.Option("--include-diffs", help="Add both sides' patch text.")
    ] = False,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Export preference pairs: one JSON line per (winner, other variation) of each decided run.

    Each line: prompt, repository, base commit, both specs, both diff stats and scores,
    who selected the winner and why. Fields: docs/cli.md.
    """
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    count = 0
    with ExitStack() as stack:
        conn = stack.enter_context(connect(server, debug=GLOBAL.debug, api_key=api_key))
        sink: TextIO = (
            stack.enter_context(output.open("w", encoding="utf-8")) if output else sys.stdout
        )
        for line in conn.client.preferences(since=start, until=end, include_diffs=include_diffs):
            sink.write(line + "\n")
            count += 1
    notice(f"{count} preference record(s)" + (f" written to {output}" if output else ""))
