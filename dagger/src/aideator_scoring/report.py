"""The report object (`report.json`, schema version 1): one schema for the server's runs,
`aideator compare` and `dagger call compare`. `docs/report-schema.md` documents every field.

Callers turn what they know into the facts below; ranks, scores, `passed` and the outcome
come from the one policy (`aideator_scoring.policy`), so every entry point judges alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

from aideator_scoring.policy import Outcome, rank, score_parts, score_value

SCHEMA_VERSION = 1
OUTPUT_TAIL_CHARS = 4000
RunOutcome = Literal["passed", "failed", "error"]
_STOPPED_RUN = frozenset({"cancelled", "interrupted"})


@dataclass(frozen=True)
class CheckFacts:
    """The check command's result on one variation's tree."""

    exit_code: int | None
    duration_seconds: float | None
    output_tail: str

    @property
    def passed(self) -> bool:
        """True when the check exited 0."""
        return self.exit_code == 0


@dataclass(frozen=True)
class VariationFacts:
    """Everything a report says about one finished variation."""

    variation_id: int
    spec: Mapping[str, Any]
    status: str
    exit_code: int | None
    error: str | None
    diff_stats: Mapping[str, int] | None  # None: the agent never reported a result
    usage: Mapping[str, int]
    cost_usd: float | None
    duration_seconds: float | None
    check: CheckFacts | None
    manifest: Mapping[str, Any] | None = None
    has_transcript: bool = False
    synthesized_from: list[int] | None = None  # the run's synthesized variation: its sources
    judge: Mapping[str, Any] | None = None  # the run's judge on it: {rank, verdict, rationale}

    @property
    def outcome(self) -> Outcome:
        """The policy's view of this variation."""
        return Outcome(
            variation_id=self.variation_id,
            status=self.status,
            check_passed=None if self.check is None else self.check.passed,
            diff_files=0 if self.diff_stats is None else int(self.diff_stats.get("files", 0)),
            cost_usd=self.cost_usd,
            duration_seconds=self.duration_seconds,
            has_result=self.diff_stats is not None,
            judge_rank=None if self.judge is None else int(self.judge["rank"]),
        )


@dataclass(frozen=True)
class RunFacts:
    """The run a report covers (the Dagger module knows less: it leaves the rest empty)."""

    prompt: str
    repo: Mapping[str, str | None]  # url, ref, base_sha
    check_command: str | None
    status: str
    details: Mapping[str, Any] = field(default_factory=dict)  # id, backend, times, ...
    error: str | None = None


@dataclass(frozen=True)
class WinnerFacts:
    """Who won, who chose, and why."""

    variation_id: int
    selected_by: str  # "policy" or "user"
    reason: str | None


def generator(distribution: str) -> dict[str, str]:
    """The report's `generator`: the producing distribution and its installed version."""
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"name": distribution, "version": version}


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


def variation_passed(check_command: str | None, v: VariationFacts) -> bool:
    """It changed something and its check passed (without a check: its agent succeeded).

    An empty diff never passes, even when the check does: there is nothing to deliver.
    """
    changed = v.diff_stats is not None and v.diff_stats.get("files", 0) > 0
    if check_command:
        return changed and v.check is not None and v.check.passed
    return changed and v.status == "succeeded"


def run_outcome(run: RunFacts, variations: list[VariationFacts]) -> RunOutcome:
    """`passed` if some variation passed, `error` if the run could not be judged, else `failed`.

    A run is not judged when it was stopped (cancelled, interrupted) or when it failed before
    any agent reported a result (e.g. the repository could not be cloned).
    """
    if any(variation_passed(run.check_command, v) for v in variations):
        return "passed"
    if run.status in _STOPPED_RUN:
        return "error"
    if run.status == "failed" and all(v.exit_code is None for v in variations):
        return "error"
    return "failed"


def _check(check: CheckFacts | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "exit_code": check.exit_code,
        "passed": check.passed,
        "duration_seconds": check.duration_seconds,
        "output_tail": check.output_tail[-OUTPUT_TAIL_CHARS:],
    }


def _variation(
    v: VariationFacts, run: RunFacts, ranks: dict[int, int], scored: dict[int, Outcome]
) -> dict[str, Any]:
    position = ranks.get(v.variation_id)
    outcome = scored.get(v.variation_id, v.outcome)  # as ranked (judge part dropped or not)
    return {
        "variation_id": v.variation_id,
        "model": variation_label(v.spec),
        "agent": v.spec.get("agent", "claude-code"),
        "spec": dict(v.spec),
        "status": v.status,
        "passed": variation_passed(run.check_command, v),
        "rank": position,
        "score": None if position is None else score_value(v.outcome),
        "score_parts": {} if position is None else score_parts(outcome, position, len(ranks)),
        "exit_code": v.exit_code,
        "error": v.error,
        "diff_stats": None if v.diff_stats is None else dict(v.diff_stats),
        "usage": dict(v.usage),
        "cost_usd": v.cost_usd,
        "duration_seconds": v.duration_seconds,
        "check": _check(v.check),
        "manifest": None if v.manifest is None else dict(v.manifest),
        "patch": patch_name(v.variation_id),
        "transcript": transcript_name(v.variation_id) if v.has_transcript else None,
        "synthesized_from": None if v.synthesized_from is None else list(v.synthesized_from),
        "judge": None if v.judge is None else dict(v.judge),
    }


def build_report(
    run: RunFacts,
    variations: list[VariationFacts],
    *,
    winner: WinnerFacts | None,
    generator: Mapping[str, str],
) -> dict[str, Any]:
    """The report object written as `report.json`."""
    ranked = rank([v.outcome for v in variations])
    ranks = {o.variation_id: position for position, o in enumerate(ranked, start=1)}
    scored = {o.variation_id: o for o in ranked}
    by_id = {v.variation_id: v for v in variations}
    chosen = None if winner is None else by_id.get(winner.variation_id)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": dict(generator),
        "outcome": run_outcome(run, variations),
        "run": {"status": run.status, "error": run.error, **run.details},
        "prompt": run.prompt,
        "prompt_sha256": hashlib.sha256(run.prompt.encode()).hexdigest(),
        "repo": dict(run.repo),
        "check_command": run.check_command or None,
        "variations": [_variation(v, run, ranks, scored) for v in sorted(variations, key=_by_id)],
        "winner": None
        if winner is None or chosen is None
        else {
            "variation_id": winner.variation_id,
            "model": variation_label(chosen.spec),
            "selected_by": winner.selected_by,
            "reason": winner.reason,
        },
    }


def _by_id(v: VariationFacts) -> int:
    return v.variation_id
