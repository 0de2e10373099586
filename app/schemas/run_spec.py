"""The run spec: what a client asks for (API body, CLI flags and spec files alike)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

AgentKind = Literal["claude-code", "command"]
WinnerPolicy = Literal["manual", "best_score"]
NetworkMode = Literal["none", "egress"]
EarlyStopMode = Literal["never", "first_pass"]
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
_RESERVED_ENV_PREFIXES = ("ANTHROPIC_", "AIDEATOR_", "RELAY_", "CLAUDE_CODE_")


def usable_prompt(prompt: str) -> str:
    """A prompt an agent can be given: not blank, and no NUL (an environment cannot carry it)."""
    if not prompt.strip():
        raise ValueError("prompt is blank")
    if "\x00" in prompt:
        raise ValueError("prompt contains a NUL character (an agent's environment cannot)")
    return prompt


class VariationSpec(BaseModel):
    """How one variation runs: agent kind, model and its knobs."""

    model_config = ConfigDict(extra="forbid")

    agent: AgentKind = Field(default="claude-code", description="`claude-code` or `command`.")
    model: str | None = Field(
        default=None,
        max_length=200,
        description="Model name, e.g. `claude-sonnet-4-5`, or `scripted/<scenario>`.",
    )
    system_prompt_append: str | None = Field(default=None, max_length=8000)
    max_turns: int | None = Field(default=None, ge=1, le=500)
    command: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="For agent `command`: argv run in the workspace; stdout lines are relayed.",
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment for the agent (no secrets)."
    )

    @field_validator("env")
    @classmethod
    def _safe_env(cls, env: dict[str, str]) -> dict[str, str]:
        for name, value in env.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"invalid variable name {name!r}")
            if name.startswith(_RESERVED_ENV_PREFIXES):
                raise ValueError(f"{name} is reserved and set by AIdeator")
            if len(value) > 4096:
                raise ValueError(f"{name}: value longer than 4096 characters")
        return env

    @model_validator(mode="after")
    def _command_matches_kind(self) -> VariationSpec:
        if self.agent == "command" and not self.command:
            raise ValueError("agent `command` needs a non-empty `command` list")
        if self.agent == "claude-code" and self.command:
            raise ValueError("`command` is only for agent `command`")
        return self


class EarlyStopPassing(BaseModel):
    """Stop the run's remaining variations once `passing` of them passed the check."""

    model_config = ConfigDict(extra="forbid")

    passing: int = Field(ge=1, description="How many passing variations are enough.")


class Synthesize(BaseModel):
    """After the variations (and the judge), one more variation combines the top `top` diffs."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None,
        max_length=200,
        description="Model of the synthesized variation; default: the first Claude Code "
        "variation's model (else the server's default model).",
    )
    top: int = Field(
        default=2,
        ge=2,
        description="How many of the best-ranked variations with a non-empty diff to combine "
        "(2 up to the number of variations).",
    )


class JudgeSpec(BaseModel):
    """A model that ranks the finished variations (one call through the gateway)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        min_length=1,
        max_length=200,
        description="The judge's model, e.g. `claude-opus-4-5`, or `scripted/judge`.",
    )
    instructions: str | None = Field(
        default=None,
        max_length=8000,
        description="Extra guidance for the judge (what matters most in this task).",
    )

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, model: str) -> str:
        if not model.strip() or any(ch.isspace() for ch in model):
            raise ValueError("judge model must be a model name without spaces")
        return model


class RunCreate(BaseModel):
    """The run spec: the same object for the API, the CLI (`--spec`) and CI."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    repo_url: str = Field(
        validation_alias=AliasChoices("repo_url", "github_url"),
        min_length=1,
        max_length=2048,
        description="Git repository to work on (https). `github_url` is accepted as an alias.",
    )
    ref: str | None = Field(
        default=None, max_length=255, description="Branch, tag or commit; default: remote HEAD."
    )
    prompt: str = Field(min_length=1, description="The task for every variation.")
    variations: int | list[VariationSpec] = Field(
        default=3,
        description="How many variations (copies of `agent_config`), or one spec per variation.",
    )
    agent_config: VariationSpec | None = Field(
        default=None, description="Defaults for every variation."
    )
    check_command: str | None = Field(
        default=None,
        max_length=4000,
        description="Shell command run on each variation's tree after the agent; exit 0 = pass.",
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=24 * 3600, description="Per-variation wall-clock limit."
    )
    budget_usd: float | None = Field(
        default=None, gt=0, description="Model spend limit for the whole run (all variations)."
    )
    winner_policy: WinnerPolicy = Field(
        default="manual", description="`best_score` records the top variation when the run ends."
    )
    setup_command: str | None = Field(
        default=None,
        max_length=8000,
        description=(
            "Shell command (`/bin/sh -c`, repository root) run once per run before any agent, "
            "with network only through the egress proxy; its tree is every variation's start. "
            "Default: the repository's `.devcontainer/devcontainer.json` "
            "`postCreateCommand` or `onCreateCommand`."
        ),
    )
    setup_timeout_seconds: float | None = Field(
        default=None, gt=0, le=24 * 3600, description="Wall-clock limit of the setup command."
    )
    network: NetworkMode = Field(
        default="none",
        description="Agents' network: `none`, or `egress` (only the egress proxy's allow-list).",
    )
    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Container image for setup, agents and checks (dagger backend only).",
    )

    early_stop: EarlyStopMode | EarlyStopPassing = Field(
        default="never",
        description=(
            "`never`; `first_pass`: when one variation's check passes, cancel the others "
            'still running; or `{"passing": k}`: stop once k have passed. Needs '
            "`check_command`."
        ),
    )

    synthesize: Synthesize | None = Field(
        default=None,
        description='`{"model"?: str, "top": k}`: when the variations (and the judge) are '
        "done, one more variation starts from the base with the task and the top k diffs and "
        "combines them; it is checked and scored like the others. Skipped (with the reason) "
        "when fewer than k variations changed something.",
    )
    judge: JudgeSpec | None = Field(
        default=None,
        description=(
            "When the variations have ended, one call to this model ranks them and gives each "
            "a verdict and rationale (with `synthesize`, a second call after the synthesized "
            "variation ranks them all again); its rank is a score part after the check "
            "(docs/scoring.md). Metered and inside `budget_usd`; a judge failure never fails "
            "the run."
        ),
    )

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, prompt: str) -> str:
        return usable_prompt(prompt)

    @field_validator("setup_command")
    @classmethod
    def _setup_not_blank(cls, command: str | None) -> str | None:
        if command is not None and (not command.strip() or "\x00" in command):
            raise ValueError("setup_command is blank")
        return command

    @field_validator("ref")
    @classmethod
    def _ref_not_option(cls, ref: str | None) -> str | None:
        if ref is not None and (ref.startswith("-") or not ref.strip() or "\x00" in ref):
            raise ValueError("ref must be a branch, tag or commit name")
        return ref
