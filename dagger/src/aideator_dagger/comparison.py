"""A comparison's lazily built parts: one agent exec per variation, and the report directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import dagger
from dagger import dag

from .containers import Binding, agent_exec
from .report import VariationOutcome, patch_name, transcript_name
from .spec import PlannedVariation, agent_spec, cache_bust_value


@dataclass(frozen=True)
class AgentSettings:
    """What every variation of a comparison shares."""

    prompt: str
    agent: str
    command: list[str]
    max_turns: int
    system_prompt_append: str
    extra_env: list[tuple[str, str]]
    base_sha: str
    run_id: str
    nonce: str


def fan_out(
    workspace: dagger.Container,
    plan: list[PlannedVariation],
    settings: AgentSettings,
    *,
    api_key: dagger.Secret | None,
    gateway: Binding | None,
) -> list[dagger.Container]:
    """One independent agent exec per planned variation, all on the same (set-up) base tree."""
    return [
        agent_exec(
            workspace,
            spec=agent_spec(
                prompt=settings.prompt,
                agent=settings.agent,
                model=planned.model,
                max_turns=settings.max_turns,
                system_prompt_append=settings.system_prompt_append,
                command=settings.command,
                base_sha=settings.base_sha,
                run_id=settings.run_id,
                variation_id=planned.variation_id,
            ),
            cache_bust=cache_bust_value(settings.run_id, planned.variation_id, settings.nonce),
            api_key=api_key,
            gateway=gateway,
            relay=None,
            relay_token=None,
            extra_env=settings.extra_env,
        )
        for planned in plan
    ]


def report_directory(
    report: dict[str, Any], markdown: str, outcomes: list[VariationOutcome]
) -> dagger.Directory:
    """report.json, report.md, and each variation's patch and transcript."""
    out = (
        dag.directory()
        .with_new_file("report.json", json.dumps(report, indent=2) + "\n")
        .with_new_file("report.md", markdown)
    )
    for outcome in outcomes:
        out = out.with_new_file(patch_name(outcome.variation_id), outcome.diff).with_new_file(
            transcript_name(outcome.variation_id), outcome.transcript
        )
    return out
