"""`aideator runs fork RUN N --prompt "..." -n 3`: a new run from a variation's tree, live."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from app.cli.client import ApiClient
from app.cli.commands_runs import RunIdArg, runs_app
from app.cli.console import notice, out, warn
from app.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, CliError
from app.cli.follow import follow_run
from app.cli.options import (
    GLOBAL,
    ApiKeyOpt,
    BudgetOpt,
    CheckOpt,
    ModelOpt,
    PolicyOpt,
    QuietOpt,
    ServerOpt,
    TimeoutOpt,
)
from app.cli.runs_common import SCRIPTED_WARNING, print_links
from app.cli.session import Connection, connect
from app.cli.spec_file import is_local_repo
from app.cli.tables import print_outcome
from app.schemas import RunRead


def fork_body(
    prompt: str,
    *,
    variations: int | None,
    models: list[str] | None,
    check: str | None,
    no_check: bool,
    timeout: float | None,
    budget: float | None,
    winner_policy: str | None,
) -> dict[str, Any]:
    """The API body; what is left out the server inherits from the parent run."""
    if check is not None and no_check:
        raise CliError("--check and --no-check exclude each other", hint="choose one")
    body: dict[str, Any] = {"prompt": prompt}
    if models and len(models) > 1:
        if variations is not None:
            raise CliError(
                "several --model flags already say how many variations to run",
                hint="drop --variations, or give one --model with --variations N",
            )
        body["variations"] = [{"model": m} for m in models]
    elif models:
        body["agent_config"] = {"model": models[0]}
    if variations is not None:
        body["variations"] = variations
    if check is not None or no_check:
        body["check_command"] = check
    optional = {"timeout_seconds": timeout, "budget_usd": budget, "winner_policy": winner_policy}
    return body | {k: v for k, v in optional.items() if v is not None}


def _wait_quietly(client: ApiClient, run_id: str) -> tuple[RunRead, bool]:
    """Read the stream to its end without showing it; Ctrl-C cancels the run."""
    try:
        for _ in client.events(run_id):
            pass
    except KeyboardInterrupt:
        warn("Ctrl-C: cancelling the run…")
        client.cancel(run_id)
        return client.get_run(run_id), True
    return client.get_run(run_id), False


def _fork_and_follow(
    conn: Connection, parent_id: str, variation: int, body: dict[str, Any], quiet: bool,
    as_json: bool,
) -> tuple[RunRead, bool]:  # fmt: skip
    """Start the fork and follow it to its end; (the finished run, cancelled by Ctrl-C)."""
    client = conn.client
    accepted = client.fork(parent_id, variation, body)
    if as_json:
        run, cancelled = _wait_quietly(client, accepted.run_id)
        sys.stdout.write(run.model_dump_json(indent=2) + "\n")
        return run, cancelled
    if accepted.scripted_model:
        warn(SCRIPTED_WARNING)
    notice(
        f"run {accepted.run_id}: {len(accepted.variations)} variation(s) forked from "
        f"run {parent_id[:8]} variation {variation}"
    )
    followed = follow_run(client, accepted, quiet=quiet)
    console = out()
    console.print()
    print_outcome(console, followed.run)
    print_links(conn, accepted.run_id)
    return followed.run, followed.cancelled_by_user


@runs_app.command("fork")
def fork(
    run_id: RunIdArg,
    variation: Annotated[int, typer.Argument(min=0, help="The variation to start from.")],
    prompt: Annotated[
        str, typer.Option("--prompt", "-p", help="The task for every variation of the new run.")
    ],
    variations: Annotated[
        int | None,
        typer.Option("--variations", "-n", min=1, help="How many (default: the parent's count)."),
    ] = None,
    model: ModelOpt = None,
    check: CheckOpt = None,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="Run no check (default: the parent's check).")
    ] = False,
    timeout: TimeoutOpt = None,
    budget: BudgetOpt = None,
    winner_policy: PolicyOpt = None,
    quiet: QuietOpt = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Show nothing live; print the finished run's JSON.")
    ] = False,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Start a new run from a variation's tree and watch it live (like `aideator run`).

    Its variations start from the variation's diff on the parent's base commit, so their
    diffs hold both changes. Left-out options are the parent run's (count, the forked
    variation's agent and model, check, timeout, budget, winner policy). Exit 0 when some
    variation succeeded, 1 when none did, 130 after Ctrl-C (the run is cancelled).
    """
    body = fork_body(
        prompt,
        variations=variations,
        models=model,
        check=check,
        no_check=no_check,
        timeout=timeout,
        budget=budget,
        winner_policy=None if winner_policy is None else str(winner_policy),
    )
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        parent_id = conn.client.resolve_run_id(run_id)
        repo_url = conn.client.get_run(parent_id).repo_url
        again = conn.embedded is not None and is_local_repo(repo_url)
        if not again:
            run, cancelled = _fork_and_follow(conn, parent_id, variation, body, quiet, as_json)
    if again:
        # A local repository: this command's own server must accept local repositories.
        overrides = {"allow_local_repos": True}
        with connect(server, debug=GLOBAL.debug, api_key=api_key, overrides=overrides) as conn:
            run, cancelled = _fork_and_follow(conn, parent_id, variation, body, quiet, as_json)
    if cancelled:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_OK if run.status == "succeeded" else EXIT_FAILED)
