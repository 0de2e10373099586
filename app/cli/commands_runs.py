"""`aideator runs list|show|diff|select|cancel`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.text import Text

from app.cli.console import notice, out
from app.cli.errors import CliError
from app.cli.options import GLOBAL, ApiKeyOpt, ServerOpt
from app.cli.session import connect
from app.cli.tables import print_outcome, runs_table, winner_line

runs_app = typer.Typer(
    name="runs",
    help="List, inspect and decide on runs.",
    no_args_is_help=True,
)

RunIdArg = Annotated[
    str, typer.Argument(help="Run id, or a unique prefix of one (as `runs list` shows).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead.")]


@runs_app.command("list")
def list_runs(
    status: Annotated[
        str | None, typer.Option(help="Only runs with this status (e.g. running, succeeded).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many runs.")] = 20,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Recent runs, newest first."""
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        page = conn.client.list_runs(status=status, limit=limit)
    if as_json:
        sys.stdout.write(page.model_dump_json(indent=2) + "\n")
        return
    if not page.items:
        notice("no runs yet: start one with `aideator run` or `aideator demo`")
        return
    console = out()
    console.print(runs_table(page.items, console.width), soft_wrap=True)


@runs_app.command("show")
def show(
    run_id: RunIdArg, as_json: JsonOpt = False, server: ServerOpt = None, api_key: ApiKeyOpt = None
) -> None:
    """A run's variations with scores, and its winner."""
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        run = conn.client.get_run(conn.client.resolve_run_id(run_id))
    if as_json:
        sys.stdout.write(run.model_dump_json(indent=2) + "\n")
        return
    console = out()
    first_line = run.prompt.splitlines()[0] if run.prompt.strip() else ""
    console.print(Text(f"prompt: {first_line[:200]}"), soft_wrap=True)
    base = (run.base_sha or "?")[:12]
    console.print(Text(f"repo: {run.repo_url} @ {base} · backend {run.backend}"), soft_wrap=True)
    if run.parent is not None:
        console.print(
            Text(
                f"forked from: run {run.parent.run_id} variation {run.parent.variation_id} "
                f"(diff sha256 {run.parent.diff_sha256[:12]})"
            ),
            soft_wrap=True,
        )
    if run.check_command:
        console.print(Text(f"check: {run.check_command}"), soft_wrap=True)
    if run.error:
        console.print(Text(f"error: {run.error}", style="red"), soft_wrap=True)
    print_outcome(console, run)


@runs_app.command("diff")
def diff(
    run_id: RunIdArg,
    variation: Annotated[
        int | None, typer.Argument(help="Variation number (default: the winner).")
    ] = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Print a variation's patch (apply it with `git apply`)."""
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        full_id = conn.client.resolve_run_id(run_id)
        if variation is None:
            winner = conn.client.get_run(full_id).winning_variation_id
            if winner is None:
                raise CliError(
                    "the run has no winner yet", hint="name a variation: aideator runs diff ID N"
                )
            variation = winner
        patch = conn.client.diff(full_id, variation)
    if not patch:
        notice(f"variation {variation} changed nothing")
    sys.stdout.write(patch)


@runs_app.command("select")
def select(
    run_id: RunIdArg,
    variation: Annotated[int, typer.Argument(min=0, help="The winning variation's number.")],
    reason: Annotated[str | None, typer.Option(help="Why this one (kept with the run).")] = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Record the winning variation (overrides a policy's choice)."""
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        run = conn.client.select(conn.client.resolve_run_id(run_id), variation, reason)
    out().print(winner_line(run), soft_wrap=True)


@runs_app.command("cancel")
def cancel(run_id: RunIdArg, server: ServerOpt = None, api_key: ApiKeyOpt = None) -> None:
    """Stop a run's agents; its variations become `cancelled`."""
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        run = conn.client.cancel(conn.client.resolve_run_id(run_id))
    out().print(Text(f"run {run.id} is {run.status}"))
