"""Options shared by several commands, and the global `--debug` flag."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.cli.spec_file import SpecFlags


@dataclass
class GlobalFlags:
    """Set by the root callback before any command runs."""

    debug: bool = False


GLOBAL = GlobalFlags()

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="AIDEATOR_SERVER",
        show_envvar=True,
        help="URL of a running AIdeator server. Without it, an embedded server is started "
        "for this command (same database as `aideator serve`).",
        rich_help_panel="Server",
    ),
]

EmbeddedOpt = Annotated[
    bool,
    typer.Option(
        "--embedded",
        help="Start a server for this command even when `aideator serve` is running (its "
        "data then goes to a private directory beside the shared one). Without it, a running "
        "server is used when it can do the job.",
        rich_help_panel="Server",
    ),
]

QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print only each variation's status and result, not every agent line.",
    ),
]

ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="AIDEATOR_API_KEY",
        show_envvar=True,
        help="API key for a --server that requires one (sent as X-API-Key).",
        rich_help_panel="Server",
    ),
]

_SPEC = "Run spec (flags override the spec file)"
SpecOpt = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        help="YAML or JSON file holding the run spec (the POST /api/v1/runs body).",
        rich_help_panel=_SPEC,
    ),
]
RepoOpt = Annotated[
    str | None,
    typer.Option(
        "--repo",
        "-r",
        help="Repository: https URL, or a local path (allowed for the embedded server).",
        rich_help_panel=_SPEC,
    ),
]
RefOpt = Annotated[
    str | None,
    typer.Option(
        help="Branch, tag or commit to start from (default: HEAD).", rich_help_panel=_SPEC
    ),
]
PromptOpt = Annotated[
    str | None,
    typer.Option("--prompt", "-p", help="The task for every variation.", rich_help_panel=_SPEC),
]
PromptFileOpt = Annotated[
    Path | None,
    typer.Option(help="Read the prompt from this file.", rich_help_panel=_SPEC),
]
VariationsOpt = Annotated[
    int | None,
    typer.Option(
        "--variations", "-n", min=1, help="How many variations (default 3).", rich_help_panel=_SPEC
    ),
]
ModelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        help="Model; repeat for one variation per model (e.g. -m claude-sonnet-4-5 -m "
        "claude-opus-4-1), or give one with -n.",
        rich_help_panel=_SPEC,
    ),
]
CheckOpt = Annotated[
    str | None,
    typer.Option(
        "--check",
        "-c",
        help="Shell command run on each variation's tree; exit 0 = passed.",
        rich_help_panel=_SPEC,
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout", min=1, help="Per-variation time limit, seconds.", rich_help_panel=_SPEC
    ),
]
BudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--budget",
        min=0.0001,
        help="Model spend limit for the whole run, USD.",
        rich_help_panel=_SPEC,
    ),
]


SetupOpt = Annotated[
    str | None,
    typer.Option(
        "--setup",
        help="Shell command run once before the agents (e.g. install dependencies); its "
        "tree is every variation's start. Network only through the egress proxy.",
        rich_help_panel=_SPEC,
    ),
]
SetupTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--setup-timeout", min=1, help="Setup time limit, seconds.", rich_help_panel=_SPEC
    ),
]


class NetworkChoice(StrEnum):
    """`network` values."""

    none = "none"
    egress = "egress"


NetworkOpt = Annotated[
    NetworkChoice | None,
    typer.Option(
        "--network",
        help="Agents' network: `none` (default) or `egress` (the egress proxy's allow-list).",
        rich_help_panel=_SPEC,
    ),
]
ImageOpt = Annotated[
    str | None,
    typer.Option(
        "--image",
        help="Container image for setup, agents and checks (dagger backend only).",
        rich_help_panel=_SPEC,
    ),
]


EarlyStopOpt = Annotated[
    str | None,
    typer.Option(
        "--early-stop",
        metavar="never|first_pass|K",
        help="Needs --check. `first_pass`: once one variation passes, cancel the others "
        "still running; K: once K have passed. Default `never`.",
        rich_help_panel=_SPEC,
    ),
]


SynthesizeOpt = Annotated[
    int | None,
    typer.Option(
        "--synthesize",
        metavar="K",
        min=2,
        help="When the variations are done, one more variation combines the K best-ranked "
        "diffs into one change (checked and scored like the others). K: 2 up to the number "
        "of variations. Skipped, with the reason, when fewer than K changed something.",
        rich_help_panel=_SPEC,
    ),
]
SynthesisModelOpt = Annotated[
    str | None,
    typer.Option(
        "--synthesis-model",
        metavar="MODEL",
        help="Model of the synthesized variation (default: the first variation's model).",
        rich_help_panel=_SPEC,
    ),
]


JudgeOpt = Annotated[
    str | None,
    typer.Option(
        "--judge",
        metavar="MODEL",
        help="When the variations end, this model ranks them with a verdict and rationale "
        "each; its rank comes right after the check in the score. Metered, inside --budget.",
        rich_help_panel=_SPEC,
    ),
]
JudgeInstructionsOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-instructions",
        metavar="TEXT",
        help="Extra guidance for the judge (what matters most in this task).",
        rich_help_panel=_SPEC,
    ),
]


class PolicyChoice(StrEnum):
    """`winner_policy` values."""

    manual = "manual"
    best_score = "best_score"


PolicyOpt = Annotated[
    PolicyChoice | None,
    typer.Option(
        "--winner-policy",
        help="`best_score` records the top-scored qualifying variation at the end; `manual` "
        "leaves the choice to you.",
        rich_help_panel=_SPEC,
    ),
]


def spec_flags(
    *,
    repo: str | None,
    ref: str | None,
    prompt: str | None,
    prompt_file: Path | None,
    variations: int | None,
    model: list[str] | None,
    check: str | None,
    timeout: float | None,
    budget: float | None,
    winner_policy: PolicyChoice | None,
    setup: str | None = None,
    setup_timeout: float | None = None,
    network: NetworkChoice | None = None,
    image: str | None = None,
    early_stop: str | None = None,
    synthesize: int | None = None,
    synthesis_model: str | None = None,
    judge: str | None = None,
    judge_instructions: str | None = None,
) -> SpecFlags:
    """The run-spec flags as one value."""
    return SpecFlags(
        repo=repo,
        ref=ref,
        prompt=prompt,
        prompt_file=prompt_file,
        variations=variations,
        models=list(model or []),
        check=check,
        timeout=timeout,
        budget=budget,
        winner_policy=None if winner_policy is None else winner_policy.value,
        setup=setup,
        setup_timeout=setup_timeout,
        network=None if network is None else network.value,
        image=image,
        early_stop=early_stop,
        synthesize=synthesize,
        synthesis_model=synthesis_model,
        judge=judge,
        judge_instructions=judge_instructions,
    )
