"""Whether a variation can take a follow-up turn now, and until when (the reads' view).

The same reason text is the 409 a follow-up gets; `until` is when workspace retention
removes the run's workspaces: the run's `finished_at` plus
`AIDEATOR_WORKSPACE_RETENTION_SECONDS` (the eviction timer and the startup sweep use the
same deadline, so it holds across restarts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from app.models import Run, Variation
from app.runs import turns


@dataclass(frozen=True)
class Continuation:
    """A variation's current turn and whether (and until when) it can take the next one."""

    turn: int
    reason: str | None  # why not, or None when it can
    until: datetime | None  # when retention removes the workspace (None: not continuable)

    @property
    def continuable(self) -> bool:
        return self.reason is None


def eviction_deadline(run: Run, retention_seconds: float) -> datetime | None:
    """When retention removes a finished run's workspaces (None while it is not finished)."""
    if run.finished_at is None:
        return None
    return run.finished_at + timedelta(seconds=retention_seconds)


def continuation_of(
    run: Run,
    variation: Variation,
    *,
    workspace: Path,
    remote_tree: bool,
    busy: str | None,
    in_turn: frozenset[int],
    retention_seconds: float,
) -> Continuation:
    """The variation's continuation; `busy` is a reason the supervisor knows (a live task),
    `in_turn` the run's variations whose turn runs now (their run is `running`)."""
    reason = turns.refusal(run, variation, workspace, remote_tree, in_turn) or busy
    # While other turns run, the run has no finished_at: its trees are kept until they end.
    until = eviction_deadline(run, retention_seconds) if reason is None else None
    return Continuation(turn=len(turns.turns_of(variation)), reason=reason, until=until)
