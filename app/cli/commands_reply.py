"""`aideator runs reply RUN N "..."`: a follow-up turn on a variation, streamed live."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.commands_runs import RunIdArg, runs_app
from app.cli.console import out
from app.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from app.cli.follow import follow_run
from app.cli.options import GLOBAL, ApiKeyOpt, ServerOpt
from app.cli.session import connect
from app.cli.tables import print_outcome
from app.schemas import RunAccepted, VariationAccepted


@runs_app.command("reply")
def reply(
    run_id: RunIdArg,
    variation: Annotated[int, typer.Argument(min=0, help="The variation to continue.")],
    message: Annotated[str, typer.Argument(help="What its agent should do next.")],
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Continue a finished variation in its workspace and agent session; stream the turn."""
    with connect(server, debug=GLOBAL.debug, api_key=api_key) as conn:
        client = conn.client
        full_id = client.resolve_run_id(run_id)
        run = client.get_run(full_id)
        spec = next((v.spec for v in run.variations if v.variation_id == variation), {})
        after = client.last_event_id(full_id)
        started = client.reply(full_id, variation, message)
        console = out()
        console.print(f"variation {variation}: turn {started['turn']}")
        accepted = RunAccepted(
            run_id=full_id,
            stream_url=str(started["stream_url"]),
            scripted_model=run.scripted_model,
            variations=[VariationAccepted(variation_id=variation, spec=spec)],
        )
        followed = follow_run(client, accepted, after=after)
        console.print()
        print_outcome(console, followed.run)
    if followed.cancelled_by_user:
        raise typer.Exit(EXIT_INTERRUPTED)
    done = next(v for v in followed.run.variations if v.variation_id == variation)
    raise typer.Exit(EXIT_OK if done.status == "succeeded" else EXIT_FAILED)
