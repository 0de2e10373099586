"""Annotated argument types shared by the module's functions (their docs become CLI help)."""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore

from .snapshot_rules import SKIPPED_DIRS
from .spec import DEFAULT_MODEL

AgentSource = Annotated[
    dagger.Directory,
    DefaultPath("/agent_image"),
    Doc("The agent program and its Dockerfile (default: agent_image/ of this repository)"),
]
RepoFiles = Annotated[
    dagger.Directory,
    DefaultPath("/"),
    Ignore(["**", "!uv.lock", "!app/__init__.py", "!app/scripted_model/**"]),
    Doc("Files of this repository the scripted model needs (loaded by default)"),
]
RepoUrl = Annotated[str, Doc("Git URL of the repository to work on (or use --source)")]
Ref = Annotated[str, Doc("Branch, tag or full commit id to start from")]
# Never uploaded with --source: environments and build output, rebuilt by setup if needed.
SOURCE_IGNORE = [
    ".git",
    *(f"**/{name}" for name in SKIPPED_DIRS if name != ".git"),
    "**/.aideator",
]
Source = Annotated[
    dagger.Directory | None,
    Ignore(SOURCE_IGNORE),
    Doc(
        "A local directory to work on instead of --repo-url; committed as the base "
        "(.git, virtualenvs, node_modules and caches are not uploaded)"
    ),
]
Session = Annotated[
    dagger.Directory | None,
    Doc(
        "Claude Code's session to resume: the `session` directory an earlier stream-agent "
        "call returned (use its `workspace` as --source)"
    ),
]
GitToken = Annotated[
    dagger.Secret | None,
    Doc(
        "Token for a private https repository, e.g. env://GIT_TOKEN; given to the engine's "
        "git as the password, never to a container"
    ),
]
SetupCommand = Annotated[
    str,
    Doc(
        "Shell command run once in the repository before the agents (e.g. install "
        "dependencies); its changes are kept out of the diffs"
    ),
]
Image = Annotated[
    str,
    Doc(
        "Base image for setup, agent and check (Debian or Ubuntu based; default: the "
        "agent image's Python base)"
    ),
]
Prompt = Annotated[str, Doc("The task for the agent (required for --agent=claude-code)")]
PromptFile = Annotated[
    dagger.File | None,
    Doc("A file holding the task instead of --prompt (any size; kept off the command line)"),
]
VariationId = Annotated[int, Doc("Variation number within the run")]
RunId = Annotated[str, Doc("Run id, part of the default relay path")]
Model = Annotated[str, Doc("Model name passed to the agent")]
Models = Annotated[
    list[str] | None, Doc(f"Models to compare, --count variations each (default {DEFAULT_MODEL})")
]
Count = Annotated[int, Doc("Variations per model")]
CheckCommand = Annotated[
    str, Doc("Shell command run on each variation's patched tree; exit 0 passes")
]
AgentKind = Annotated[str, Doc("Agent kind: claude-code or command")]
Command = Annotated[list[str] | None, Doc("The command to run when --agent=command")]
MaxTurns = Annotated[int, Doc("Maximum agent turns (0: the agent's default)")]
SystemPromptAppend = Annotated[str, Doc("Text appended to the agent's system prompt")]
Env = Annotated[list[str] | None, Doc("Extra NAME=value environment for the agent (no secrets)")]
ApiKey = Annotated[
    dagger.Secret | None,
    Doc("Sent as ANTHROPIC_API_KEY, always as a secret (with --gateway: the gateway's token)"),
]
Gateway = Annotated[
    dagger.Service | None,
    Doc("Anthropic-compatible endpoint for the agent, e.g. tcp://localhost:8787"),
]
GatewayPath = Annotated[str, Doc("Base path on the gateway, if not /")]
Relay = Annotated[
    dagger.Service | None,
    Doc("AIdeator server that receives live lines, e.g. tcp://localhost:8000"),
]
RelayPath = Annotated[str, Doc("Ingest path on the relay (default: from --run-id/--variation-id)")]
RelayToken = Annotated[dagger.Secret | None, Doc("Bearer token for the relay")]
ScriptedModel = Annotated[
    bool, Doc("Serve the models from this repository's scripted model (offline; not Claude)")
]
EarlyStop = Annotated[
    str,
    Doc(
        "never, first_pass (stop once one variation passes the check) or K (once K passed); "
        "needs --check-command"
    ),
]
JudgeModel = Annotated[
    str,
    Doc("Judge model: one call ranks the variations before synthesis and the ranking"),
]
JudgeInstructions = Annotated[str, Doc("Extra instructions for the judge (what to weigh)")]
SynthesizeTop = Annotated[
    int,
    Doc(
        "After the variations, one more combines the K best-ranked diffs (2 up to the number "
        "of variations; 0: off)"
    ),
]
SynthesisModel = Annotated[
    str, Doc("Model of the synthesized variation (default: the first variation's model)")
]
