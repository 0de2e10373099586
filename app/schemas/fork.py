"""The body of a fork: a new run that starts from one variation's tree."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.run_spec import VariationSpec, WinnerPolicy, usable_prompt


class ForkCreate(BaseModel):
    """What a fork asks for; everything left out is inherited from the parent run."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, description="The task for every variation of the new run.")
    variations: int | list[VariationSpec] | None = Field(
        default=None,
        description="How many variations (copies of `agent_config`), or one spec per variation; "
        "default: as many as the parent run had.",
    )
    agent_config: VariationSpec | None = Field(
        default=None,
        description="Defaults for every variation; default: the forked variation's own spec "
        "(agent, model, command, env).",
    )
    check_command: str | None = Field(
        default=None,
        max_length=4000,
        description="Default: the parent run's. Send null explicitly for no check.",
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=24 * 3600, description="Default: the parent run's."
    )
    budget_usd: float | None = Field(
        default=None,
        gt=0,
        description="Model spend limit of the new run; default: the parent run's limit.",
    )
    winner_policy: WinnerPolicy | None = Field(
        default=None, description="Default: the parent run's."
    )

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, prompt: str) -> str:
        return usable_prompt(prompt)
