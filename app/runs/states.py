"""Legal status transitions for runs and variations (DESIGN §3)."""

from __future__ import annotations

from typing import Final

from app.status import RunStatus as R
from app.status import VariationStatus as V

RUN_TERMINAL: Final = frozenset({R.SUCCEEDED, R.FAILED, R.CANCELLED, R.INTERRUPTED})
VARIATION_TERMINAL: Final = frozenset(
    {V.SUCCEEDED, V.FAILED, V.CANCELLED, V.TIMED_OUT, V.INTERRUPTED}
)

RUN_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    R.QUEUED: frozenset({R.RUNNING, R.FAILED, R.CANCELLED, R.INTERRUPTED}),
    R.RUNNING: frozenset({R.SUCCEEDED, R.FAILED, R.CANCELLED, R.INTERRUPTED}),
}
VARIATION_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    V.QUEUED: frozenset({V.RUNNING, V.FAILED, V.CANCELLED, V.INTERRUPTED}),
    V.RUNNING: frozenset({V.SUCCEEDED, V.FAILED, V.CANCELLED, V.TIMED_OUT, V.INTERRUPTED}),
}


def run_sources(target: str) -> list[str]:
    """Statuses a run may move to `target` from."""
    return sorted(str(s) for s, nexts in RUN_TRANSITIONS.items() if target in nexts)


def variation_sources(target: str) -> list[str]:
    """Statuses a variation may move to `target` from."""
    return sorted(str(s) for s, nexts in VARIATION_TRANSITIONS.items() if target in nexts)


def run_can_move(current: str, target: str) -> bool:
    """Whether a run in `current` may become `target`."""
    return target in RUN_TRANSITIONS.get(current, frozenset())


def variation_can_move(current: str, target: str) -> bool:
    """Whether a variation in `current` may become `target`."""
    return target in VARIATION_TRANSITIONS.get(current, frozenset())
