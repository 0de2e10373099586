"""`aideator runs push|apply`: bring a variation home as a branch or into a local checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from app.cli.client import ApiClient
from app.cli.commands_runs import RunIdArg, runs_app
from app.cli.console import notice, out
from app.cli.errors import CliError
from app.cli.local_checkout import apply_to_checkout, checkout_root
from app.cli.options import GLOBAL, ApiKeyOpt, ServerOpt
from app.cli.session import connect
from app.delivery.schemas import PushResult
from app.reports.build import variation_passed
from app.schemas import RunRead

VariationArg = Annotated[int, typer.Argument(min=0, help="The variation's number.")]
PrOpt = Annotated[bool, typer.Option("--pr", help="Also open a pull request (GitHub REST API).")]


def push_and_report(
    client: ApiClient,
    run_id: str,
    variation: int,
    *,
    pull_request: bool,
    branch: str | None = None,
    title: str | None = None,
) -> PushResult:
    """Push a variation through the server and print where it went."""
    try:
        result = client.push(
            run_id, variation, branch=branch, pull_request=pull_request, title=title
        )
    except CliError as error:
        if "already exists" in error.message:
            error.hint = "pick another name with --branch; the existing branch was not touched"
        raise
    console = out()
    console.print(
        Text(
            f"pushed variation {variation} as branch {result.branch} (commit {result.commit[:12]})"
        ),
        soft_wrap=True,
    )
    if result.pull_request_url:
        console.print(Text(f"pull request: {result.pull_request_url}"), soft_wrap=True)
    return result


def push_passing_winner(
    client: ApiClient, run: RunRead, *, pull_request: bool
) -> PushResult | None:
    """`compare --push-winner`: push the winner when a variation passed; None otherwise."""
    winner = run.winning_variation_id
    if winner is None or not any(variation_passed(run, v) for v in run.variations):
        return None
    return push_and_report(client, run.id, winner, pull_request=pull_request)


@runs_app.command("push")
def push(
    run_id: RunIdArg,
    variation: VariationArg,
    pr: PrOpt = False,
    branch: Annotated[
        str | None,
        typer.Option(help="New branch name (default aideator/<run8>-v<n>); never an existing one."),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Commit subject and pull request title.")
    ] = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Push a variation as one commit on a new branch of the run's repository."""
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        full_id = conn.client.resolve_run_id(run_id)
        push_and_report(
            conn.client, full_id, variation, pull_request=pr, branch=branch, title=title
        )


@runs_app.command("apply")
def apply(
    run_id: RunIdArg,
    variation: VariationArg,
    path: Annotated[
        Path, typer.Option("--path", help="The local checkout to change (default: here).")
    ] = Path("."),
    force: Annotated[
        bool,
        typer.Option("--force", help="Apply even though the checkout has uncommitted changes."),
    ] = False,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Apply a variation's patch to a local checkout (three-way merge when the base moved)."""
    root = checkout_root(path)
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        full_id = conn.client.resolve_run_id(run_id)
        patch = conn.client.diff(full_id, variation)
    if not patch:
        notice(f"variation {variation} changed nothing; the checkout is untouched")
        return
    changes, merged = apply_to_checkout(root, patch, force=force)
    console = out()
    how = " with a three-way merge (changes staged)" if merged else ""
    console.print(
        Text(f"applied variation {variation} of run {full_id[:8]} to {root}{how}:"),
        soft_wrap=True,
    )
    for change in changes:
        counts = "binary" if change.added is None else f"+{change.added} -{change.removed}"
        console.print(Text(f"  {change.path}  {counts}"), soft_wrap=True)
