"""Legal status transitions for runs and variations (DESIGN §3)."""

from __future__ import annotations

from typing import Final

RUN_TERMINAL: Final = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
VARIATION_TERMINAL: Final = frozenset(
    {"succeeded", "failed", "cancelled", "timed_out", "interrupted"}
)

RUN_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "queued": frozenset({"running", "failed", "cancelled", "interrupted"}),
    "running": frozenset({"succeeded", "failed", "cancelled", "interrupted"}),
}
VARIATION_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "queued": frozenset({"running", "failed", "cancelled", "interrupted"}),
    "running": frozenset({"succeeded", "failed", "cancelled", "timed_out", "interrupted"}),
}


def run_sources(target: str) -> list[str]:
    """Statuses a run may move to `target` from."""
    return sorted(s for s, nexts in RUN_TRANSITIONS.items() if target in nexts)


def variation_sources(target: str) -> list[str]:
    """Statuses a variation may move to `target` from."""
    return sorted(s for s, nexts in VARIATION_TRANSITIONS.items() if target in nexts)


def run_can_move(current: str, target: str) -> bool:
    """Whether a run in `current` may become `target`."""
    return target in RUN_TRANSITIONS.get(current, frozenset())


def variation_can_move(current: str, target: str) -> bool:
    """Whether a variation in `current` may become `target`."""
    return target in VARIATION_TRANSITIONS.get(current, frozenset())
