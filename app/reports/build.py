"""The report object (`report.json`, schema version 1) built from a finished run.

The fields the Dagger module's report has keep their names and meaning there, so one
reader handles both; `docs/report-schema.md` documents every field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import metadata
from typing import Any, Literal

from app.schemas import RunRead, VariationRead

SCHEMA_VERSION = 1
Outcome = Literal["passed", "failed", "error"]
_STOPPED_RUN = frozenset({"cancelled", "interrupted"})


def patch_name(variation_id: int) -> str:
    """File name of a variation's patch in a report directory."""
    return f"variation-{variation_id}.patch"


def transcript_name(variation_id: int) -> str:
    """File name of a variation's agent lines (JSON Lines) in a report directory."""
    return f"variation-{variation_id}.jsonl"


def variation_label(spec: Mapping[str, Any]) -> str:
    """A short name for a variation: its model, or its command for `command` agents."""
    if spec.get("agent") == "command":
        command = " ".join(str(part) for part in spec.get("command") or [])
        return f"command: {command}" if len(command) <= 40 else f"command: {command[:39]}…"
    return str(spec.get("model") or "claude-code")


def variation_passed(run: RunRead, v: VariationRead) -> bool:
    """The check passed; without a check command: the agent succeeded and changed something."""
    if run.check_command:
        return v.check is not None and v.check.passed
    return v.status == "succeeded" and v.diff_stats is not None and v.diff_stats.files > 0


def run_outcome(run: RunRead) -> Outcome:
    """`passed` if some variation passed, `error` if the run could not be judged, else `failed`.

    A run is not judged when it was stopped (cancelled, interrupted) or when it failed before
    any agent reported a result (e.g. the repository could not be cloned).
    """
    if any(variation_passed(run, v) for v in run.variations):
        return "passed"
    if run.status in _STOPPED_RUN:
        return "error"
    if run.status == "failed" and all(v.exit_code is None for v in run.variations):
        return "error"
    return "failed"


def _generator() -> dict[str, str]:
    try:
        version = metadata.version("aideator")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"name": "aideator", "version": version}


def _variation(v: VariationRead, run: RunRead, has_transcript: bool) -> dict[str, Any]:
    check = v.check
    rank = v.score_parts.get("rank") if v.score_parts else None
    return {
        "variation_id": v.variation_id,
        "model": variation_label(v.spec),
        "agent": v.spec.get("agent", "claude-code"),
        "spec": v.spec,
        "status": v.status,
        "passed": variation_passed(run, v),
        "rank": rank,
        "score": v.score,
        "score_parts": v.score_parts,
        "exit_code": v.exit_code,
        "error": v.error,
        "diff_stats": None if v.diff_stats is None else v.diff_stats.model_dump(),
        "usage": v.usage.model_dump(),
        "cost_usd": v.cost_usd,
        "duration_seconds": v.duration_seconds,
        "check": None
        if check is None
        else {
            "exit_code": check.exit_code,
            "passed": check.passed,
            "duration_seconds": check.duration_seconds,
            "output_tail": check.output_tail,
        },
        "manifest": v.manifest,
        "patch": patch_name(v.variation_id),
        "transcript": transcript_name(v.variation_id) if has_transcript else None,
    }


def _winner(run: RunRead) -> dict[str, Any] | None:
    vid = run.winning_variation_id
    chosen = next((v for v in run.variations if v.variation_id == vid), None)
    if chosen is None:
        return None
    return {
        "variation_id": chosen.variation_id,
        "model": variation_label(chosen.spec),
        "selected_by": run.winner_selected_by,
        "reason": run.winner_reason,
    }


def build_report(run: RunRead, *, with_transcripts: bool = False) -> dict[str, Any]:
    """The report object written as `report.json`."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": _generator(),
        "outcome": run_outcome(run),
        "run": {
            "id": run.id,
            "status": run.status,
            "error": run.error,
            "backend": run.backend,
            "scripted_model": run.scripted_model,
            "winner_policy": run.winner_policy,
            "budget_usd": run.budget_usd,
            "timeout_seconds": run.timeout_seconds,
            "cost_usd": run.cost_usd,
            "created_at": run.created_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        },
        "prompt": run.prompt,
        "prompt_sha256": hashlib.sha256(run.prompt.encode()).hexdigest(),
        "repo": {"url": run.repo_url, "ref": run.ref, "base_sha": run.base_sha},
        "check_command": run.check_command,
        "variations": [_variation(v, run, with_transcripts) for v in run.variations],
        "winner": _winner(run),
    }
