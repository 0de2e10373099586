"""`aideator run` (live, interactive) and `aideator compare` (CI: report files, exit codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from app.cli.commands_deliver import push_passing_winner
from app.cli.console import notice, out
from app.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from app.cli.follow import follow_run
from app.cli.options import (
    GLOBAL,
    ApiKeyOpt,
    BudgetOpt,
    CheckOpt,
    EarlyStopOpt,
    EmbeddedOpt,
    ImageOpt,
    JudgeInstructionsOpt,
    JudgeOpt,
    ModelOpt,
    NetworkOpt,
    PolicyOpt,
    PromptFileOpt,
    PromptOpt,
    QuietOpt,
    RefOpt,
    RepoOpt,
    ServerOpt,
    SetupOpt,
    SetupTimeoutOpt,
    SpecOpt,
    SynthesisModelOpt,
    SynthesizeOpt,
    TimeoutOpt,
    VariationsOpt,
    spec_flags,
)
from app.cli.runs_common import (
    embedded_overrides,
    pin_local_head,
    print_links,
    say_when_unchecked,
    start_run,
)
from app.cli.session import connect
from app.cli.spec_file import build_run_spec
from app.cli.tables import print_outcome
from app.reports import write_report

OUTCOME_EXIT = {"passed": EXIT_OK, "failed": EXIT_FAILED, "error": EXIT_USAGE}


def run(
    spec: SpecOpt = None,
    repo: RepoOpt = None,
    ref: RefOpt = None,
    prompt: PromptOpt = None,
    prompt_file: PromptFileOpt = None,
    variations: VariationsOpt = None,
    model: ModelOpt = None,
    check: CheckOpt = None,
    timeout: TimeoutOpt = None,
    budget: BudgetOpt = None,
    winner_policy: PolicyOpt = None,
    setup: SetupOpt = None,
    setup_timeout: SetupTimeoutOpt = None,
    network: NetworkOpt = None,
    image: ImageOpt = None,
    early_stop: EarlyStopOpt = None,
    synthesize: SynthesizeOpt = None,
    synthesis_model: SynthesisModelOpt = None,
    judge: JudgeOpt = None,
    judge_instructions: JudgeInstructionsOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    embedded: EmbeddedOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run N variations and watch every agent line live; ends with the score table.

    Ctrl-C cancels the run (its agents stop) and exits 130. Exit 0 when some variation
    succeeded, 1 when none did.
    """
    flags = spec_flags(
        repo=repo,
        ref=ref,
        prompt=prompt,
        prompt_file=prompt_file,
        variations=variations,
        model=model,
        check=check,
        timeout=timeout,
        budget=budget,
        winner_policy=winner_policy,
        setup=setup,
        setup_timeout=setup_timeout,
        network=network,
        image=image,
        early_stop=early_stop,
        synthesize=synthesize,
        synthesis_model=synthesis_model,
        judge=judge,
        judge_instructions=judge_instructions,
    )
    body = pin_local_head(build_run_spec(spec, flags))
    say_when_unchecked(body)
    with connect(
        server,
        debug=GLOBAL.debug,
        overrides=embedded_overrides(body),
        api_key=api_key,
        embedded=embedded,
        starts_run=True,
    ) as conn:
        accepted = start_run(conn, body)
        followed = follow_run(conn.client, accepted, quiet=quiet)
        console = out()
        console.print()
        print_outcome(console, followed.run)
        print_links(conn, accepted.run_id)
    if followed.cancelled_by_user:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_OK if followed.run.status == "succeeded" else EXIT_FAILED)


def compare(
    spec: SpecOpt = None,
    repo: RepoOpt = None,
    ref: RefOpt = None,
    prompt: PromptOpt = None,
    prompt_file: PromptFileOpt = None,
    variations: VariationsOpt = None,
    model: ModelOpt = None,
    check: CheckOpt = None,
    timeout: TimeoutOpt = None,
    budget: BudgetOpt = None,
    winner_policy: PolicyOpt = None,
    setup: SetupOpt = None,
    setup_timeout: SetupTimeoutOpt = None,
    network: NetworkOpt = None,
    image: ImageOpt = None,
    early_stop: EarlyStopOpt = None,
    synthesize: SynthesizeOpt = None,
    synthesis_model: SynthesisModelOpt = None,
    judge: JudgeOpt = None,
    judge_instructions: JudgeInstructionsOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    embedded: EmbeddedOpt = False,
    report_dir: Annotated[
        Path,
        typer.Option(
            "--report-dir",
            "-o",
            help="Where to write report.json, report.md and variation-N.patch and .jsonl.",
        ),
    ] = Path("aideator-report"),
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print every agent line as it comes.")
    ] = False,
    push_winner: Annotated[
        bool,
        typer.Option(
            "--push-winner",
            help="When a variation passed, push the winner as a new branch of the repository.",
        ),
    ] = False,
    pr: Annotated[
        bool, typer.Option("--pr", help="With --push-winner: also open a pull request.")
    ] = False,
) -> None:
    """CI form of `run`: no live view, writes a report directory, exits by the result.

    Exit 0: some variation passed the check (without --check: succeeded with a change).
    Exit 1: none did. Exit 2: bad usage, or the run could not be judged (server unreachable,
    repository not usable, run cancelled or interrupted). The winner policy defaults to
    best_score.
    """
    flags = spec_flags(
        repo=repo,
        ref=ref,
        prompt=prompt,
        prompt_file=prompt_file,
        variations=variations,
        model=model,
        check=check,
        timeout=timeout,
        budget=budget,
        winner_policy=winner_policy,
        setup=setup,
        setup_timeout=setup_timeout,
        network=network,
        image=image,
        early_stop=early_stop,
        synthesize=synthesize,
        synthesis_model=synthesis_model,
        judge=judge,
        judge_instructions=judge_instructions,
    )
    body = pin_local_head(build_run_spec(spec, flags, default_policy="best_score"))
    say_when_unchecked(body)
    with connect(
        server,
        debug=GLOBAL.debug,
        overrides=embedded_overrides(body),
        api_key=api_key,
        embedded=embedded,
        starts_run=True,
    ) as conn:
        accepted = start_run(conn, body, quiet=not verbose)
        followed = follow_run(conn.client, accepted, show_lines=verbose, live=False)
        run_read = followed.run
        diffs = {
            v.variation_id: conn.client.diff(run_read.id, v.variation_id)
            for v in run_read.variations
        }
        pushed = (
            push_passing_winner(conn.client, run_read, pull_request=pr) if push_winner else None
        )
    report = write_report(report_dir, run_read, diffs, followed.transcripts)
    if push_winner and pushed is None:
        notice("no variation passed: nothing was pushed")
    console = out()
    print_outcome(console, run_read)
    passed = sum(1 for v in report["variations"] if v["passed"])
    console.print(
        Text(
            f"{report['outcome']}: {passed} of {len(report['variations'])} variation(s) passed; "
            f"report in {report_dir}/ (report.md, report.json, patches)",
            style="bold",
        ),
        soft_wrap=True,
    )
    if run_read.error:
        notice(f"run error: {run_read.error}")
    if followed.cancelled_by_user:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(OUTCOME_EXIT[report["outcome"]])
