"""Turns a RunCreate into concrete per-variation specs, checking limits and models."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.config import Settings
from app.errors import InvalidInput
from app.schemas import RunCreate, VariationSpec

DEFAULT_REAL_MODEL = "claude-sonnet-4-5"
DEFAULT_SCRIPTED_MODEL = "scripted/fix-correct"


def _scenario_exists(name: str) -> bool:
    from app.scripted_model import scenario_exists

    return scenario_exists(name)


def _merge(defaults: VariationSpec | None, spec: VariationSpec | None, index: int) -> VariationSpec:
    merged: dict[str, Any] = {}
    if defaults is not None:
        merged |= defaults.model_dump(exclude_unset=True)
    if spec is not None:
        merged |= spec.model_dump(exclude_unset=True)
    try:
        return VariationSpec.model_validate(merged)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise InvalidInput(
            f"variations[{index}]: {msg}", details={"field": f"variations.{index}"}
        ) from None


def check_model(spec: VariationSpec, field: str, settings: Settings) -> VariationSpec:
    """The spec with its model resolved (the default when unset); refuses one not served.

    `field` names the spec's model in the error (e.g. `variations.0.model`).
    """
    if spec.agent != "claude-code":
        return spec
    model = spec.model or (
        DEFAULT_SCRIPTED_MODEL if settings.uses_scripted_model else DEFAULT_REAL_MODEL
    )
    if model.startswith("scripted/"):
        if not settings.uses_scripted_model:
            raise InvalidInput(
                f"{model}: scripted models are only served when no ANTHROPIC_API_KEY is set",
                details={"field": field},
            )
        if not _scenario_exists(model.removeprefix("scripted/")):
            raise InvalidInput(f"unknown scripted scenario {model!r}", details={"field": field})
    elif settings.uses_scripted_model:
        raise InvalidInput(
            f"model {model!r} needs ANTHROPIC_API_KEY on the server; without it only "
            "scripted/<scenario> models run (scripted model, not Claude)",
            details={"field": field},
        )
    return spec.model_copy(update={"model": model})


def check_judge_model(body: RunCreate, settings: Settings) -> None:
    """The judge's model is served here: a scripted judge without a key, any model with one."""
    if body.judge is None:
        return
    from app.scripted_model.judge import JUDGE_MODELS

    model, field = body.judge.model, "judge.model"
    if model.startswith("scripted/"):
        if not settings.uses_scripted_model:
            raise InvalidInput(
                f"{model}: scripted models are only served when no ANTHROPIC_API_KEY is set",
                details={"field": field},
            )
        if model.removeprefix("scripted/") not in JUDGE_MODELS:
            known = ", ".join(f"scripted/{name}" for name in sorted(JUDGE_MODELS))
            raise InvalidInput(
                f"unknown scripted judge {model!r} (known: {known})", details={"field": field}
            )
    elif settings.uses_scripted_model:
        raise InvalidInput(
            f"judge model {model!r} needs ANTHROPIC_API_KEY on the server; without it only "
            "scripted/judge runs (scripted model, not Claude)",
            details={"field": field},
        )


def build_specs(body: RunCreate, settings: Settings) -> list[VariationSpec]:
    """One checked spec per variation."""
    if len(body.prompt) > settings.max_prompt_chars:
        raise InvalidInput(
            f"prompt is {len(body.prompt)} characters; the limit is {settings.max_prompt_chars}",
            details={"field": "prompt"},
        )
    count = body.variations if isinstance(body.variations, int) else len(body.variations)
    if not 1 <= count <= settings.max_variations:
        raise InvalidInput(
            f"variations must be between 1 and {settings.max_variations} (got {count})",
            details={"field": "variations"},
        )
    check_judge_model(body, settings)
    given = [None] * count if isinstance(body.variations, int) else body.variations
    return [
        check_model(_merge(body.agent_config, spec, i), f"variations.{i}.model", settings)
        for i, spec in enumerate(given)
    ]
