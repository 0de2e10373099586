"""What the API returns (runs, variations, errors), and the small bodies of run actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.run_spec import NetworkMode, usable_prompt


class DiffStats(BaseModel):
    """Size of a variation's change."""

    files: int
    insertions: int
    deletions: int


class CheckResult(BaseModel):
    """Outcome of the check command on a variation's tree."""

    exit_code: int | None
    passed: bool
    duration_seconds: float | None
    output_tail: str | None


class UsageRead(BaseModel):
    """Model tokens a variation used."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


class VariationJudgeRead(BaseModel):
    """What the run's judge said of one variation."""

    rank: int = Field(description="The judge's rank, 1 = its best.")
    verdict: str = Field(description="`strong`, `acceptable`, `weak` or `wrong`.")
    rationale: str = Field(description="The judge's short reason.")


class RunJudgeRead(BaseModel):
    """How the run's judge calls went."""

    model: str
    status: Literal["ok", "failed", "skipped"] = Field(
        description="`ok`: the verdicts in use ranked every variation the judge was shown; "
        "`failed`: the call or its answer was unusable (`error` says why); `skipped`: not "
        "called (no budget, nothing to judge). After synthesis the judge is asked again; when "
        "that second call fails or is skipped, the first call's status and verdicts stay and "
        "`error` says what became of the second call."
    )
    error: str | None
    cost_usd: float = Field(
        description="What the judge's calls cost together (part of the run's cost)."
    )
    calls: int = Field(
        default=1,
        description="How many times the judge was asked: 1, or 2 when it was asked again "
        "after synthesis (a failed or budget-skipped call counts).",
    )


class VariationRead(BaseModel):
    """A variation as the API returns it."""

    variation_id: int
    spec: dict[str, Any]
    status: str
    exit_code: int | None
    error: str | None
    diff_stats: DiffStats | None
    check: CheckResult | None
    usage: UsageRead
    cost_usd: float
    duration_seconds: float | None
    score: float | None
    score_parts: dict[str, Any]
    manifest: dict[str, Any]
    started_at: datetime | None
    finished_at: datetime | None
    turn: int = Field(
        default=1,
        description="The variation's current conversation turn (the run's own prompt is 1; "
        "each follow-up message adds one, counted from when it starts).",
    )
    continuable: bool = Field(
        default=False,
        description="Whether a follow-up message (POST .../messages) would be accepted now.",
    )
    continuable_reason: str | None = Field(
        default=None,
        description="Why not, when `continuable` is false: the same text a follow-up's 409 "
        "gives (e.g. a turn is running, the run was cancelled, the workspace was removed).",
    )
    continuable_until: datetime | None = Field(
        default=None,
        description="When workspace retention removes the variation's workspace, after which "
        "it can no longer be continued: the run's `finished_at` plus "
        "AIDEATOR_WORKSPACE_RETENTION_SECONDS. Null when it is not continuable now.",
    )
    synthesized_from: list[int] | None = Field(
        default=None,
        description="For the run's synthesized variation: the ids of the variations whose "
        "diffs it combined; null for the others.",
    )
    judge: VariationJudgeRead | None = Field(
        default=None, description="The judge's rank, verdict and rationale; null: not judged."
    )


class EarlyStopRead(BaseModel):
    """The run's early stop: its setting and, once it acted, what it stopped and saved."""

    passing: int | None = Field(
        description="Passing variations that end the run early; null: never stops early."
    )
    stopped_variation_ids: list[int] = Field(description="Variations cancelled by early stop.")
    reason: str | None = Field(description="Why, e.g. `stopped early: variation 2 passed`.")
    saved_usd: float | None = Field(
        description="Estimated model spend saved: per stopped variation, the median cost of "
        "the finished variations minus what it had spent (never below 0); null when it did "
        "not act."
    )


class SynthesisRead(BaseModel):
    """The run's synthesis setting and what became of it."""

    top: int = Field(description="How many top-ranked diffs it combines.")
    model: str = Field(description="The synthesized variation's model.")
    status: Literal["pending", "started", "skipped"] = Field(
        description="`pending` until the variations end; `started` once the synthesized "
        "variation exists; `skipped` (see `reason`) when it could not start."
    )
    reason: str | None = Field(description="Why it was skipped.")
    variation_id: int | None = Field(description="The synthesized variation, once started.")
    synthesized_from: list[int] = Field(description="The variations it combines.")


class RunParent(BaseModel):
    """The variation a forked run started from."""

    run_id: str = Field(description="The parent run.")
    variation_id: int = Field(description="The parent run's variation whose tree was forked.")
    diff_sha256: str = Field(
        description="sha256 of that variation's diff (UTF-8) when it was forked: the change "
        "every variation of this run started from."
    )


class RunSummary(BaseModel):
    """A run in lists."""

    id: str
    repo_url: str
    ref: str | None
    base_sha: str | None
    prompt: str
    status: str
    backend: str
    error: str | None
    variation_count: int
    cost_usd: float
    check_command: str | None = Field(
        description="Run on each variation's tree; without one the ranking is by diff, cost "
        "and time only."
    )
    suggested_check_command: str | None = Field(
        default=None,
        description="Only for a run without a check command: the repository's obvious test "
        "command (pytest, unittest, npm test, go test ./..., cargo test), detected from the base "
        "commit's files once the repository is prepared; null when none is obvious.",
    )
    passed_count: int = Field(description="Variations whose check command passed.")
    scripted_model: bool
    winner_policy: str
    winning_variation_id: int | None
    winner_selected_by: str | None
    winner_reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    parent: RunParent | None = Field(
        default=None,
        description="For a fork: the variation whose tree this run started from; null "
        "otherwise. Its diffs are still against `base_sha` (the parent's base).",
    )


class RunRead(RunSummary):
    """A run with its variations."""

    budget_usd: float | None
    timeout_seconds: float
    setup_command: str | None = Field(
        description="The setup command (the spec's, or the devcontainer's once known)."
    )
    network: NetworkMode
    image: str | None
    setup: dict[str, Any] = Field(
        description="How setup went: `source` (spec/devcontainer), `command`, `status`, `cached`."
    )
    early_stop: EarlyStopRead = Field(
        default_factory=lambda: EarlyStopRead(
            passing=None, stopped_variation_ids=[], reason=None, saved_usd=None
        ),
        description="The run's early stop setting and what it stopped.",
    )
    synthesis: SynthesisRead | None = Field(
        default=None, description="The run's synthesis (null: the spec asked for none)."
    )
    judge: RunJudgeRead | None = Field(
        default=None,
        description="The judge's call (null: the run has no judge, or it has not run yet).",
    )
    variations: list[VariationRead]


class RunList(BaseModel):
    """A page of runs, newest first."""

    items: list[RunSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class VariationAccepted(BaseModel):
    """A variation as accepted at run creation."""

    variation_id: int
    spec: dict[str, Any]


class RunAccepted(BaseModel):
    """Answer to run creation."""

    run_id: str
    stream_url: str
    status: Literal["accepted"] = "accepted"
    scripted_model: bool = Field(
        description="True when agents talk to the scripted model, not Claude."
    )
    variations: list[VariationAccepted]


class SelectWinner(BaseModel):
    """A user's choice of the winning variation."""

    model_config = ConfigDict(extra="forbid")

    winning_variation_id: int = Field(ge=0)
    reason: str | None = Field(default=None, max_length=2000)


class FollowUp(BaseModel):
    """A follow-up message to a finished variation (its next turn)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, description="What the agent should do next.")

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, prompt: str) -> str:
        return usable_prompt(prompt)


class TurnAccepted(BaseModel):
    """A follow-up turn was started; its events continue the run's stream."""

    run_id: str
    variation_id: int
    turn: int = Field(description="The turn's number (the run's first turn is 1).")
    stream_url: str


class ErrorBody(BaseModel):
    """The one error shape."""

    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """`{"error": {...}}`."""

    error: ErrorBody


class StreamToken(BaseModel):
    """Opens one run's stream: `GET .../stream?token=...`."""

    run_id: str
    token: str
    expires_at: int = Field(description="Unix time when the token stops working.")
