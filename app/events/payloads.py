"""The SSE contract: every event type, and the one function that builds each event.

docs/api.md's table of events and the web page's `EVENT_NAMES` are tested against this
module (tests/events/test_payloads.py), so a new event or field cannot go undocumented.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from app.events.log import EventRow, event_row
from app.events.protocol import AgentLine
from app.status import RunStatus, VariationStatus


class EventType(StrEnum):
    """The `event:` name of every SSE event a run's stream carries."""

    AGENT_OUTPUT = "agent_output"
    VARIATION_STATUS = "variation_status"
    VARIATION_RESULT = "variation_result"
    GATEWAY_REFUSAL = "gateway_refusal"
    SETUP_OUTPUT = "setup_output"
    EGRESS = "egress"
    RUN_STATUS = "run_status"
    JUDGE = "judge"
    WINNER = "winner"
    DELIVERED = "delivered"
    COMPLETE = "complete"


def agent_output(
    run_id: str, variation_id: int, line: dict[str, Any], turn: int | None = None
) -> EventRow:
    """One agent line, `{variation_id, seq, type, text?, data?, turn?}` (AgentLine.to_payload).

    `turn` (1, 2, ...) says which turn of the variation's conversation the line belongs to.
    """
    seq = line.get("seq")
    if turn is not None:
        line = {**line, "turn": turn}
    return event_row(
        run_id,
        EventType.AGENT_OUTPUT,
        line,
        variation_id=variation_id,
        seq=seq if isinstance(seq, int) else None,
    )


def agent_line(
    run_id: str, variation_id: int, line: AgentLine, turn: int | None = None
) -> EventRow:
    """`agent_output(run_id, variation_id, line.to_payload(variation_id), turn)`, encoded
    without the intermediate dicts (the relay's hot path; the same JSON text)."""
    return EventRow(
        run_id, variation_id, line.seq, EventType.AGENT_OUTPUT, line.to_json(variation_id, turn)
    )


def variation_status(
    run_id: str,
    variation_id: int,
    status: VariationStatus | str,
    error: str | None = None,
    *,
    turn: int | None = None,
    prompt: str | None = None,
) -> EventRow:
    """A variation moved to `status` (`error` says why it failed or stopped) in turn `turn`.

    The event that opens a follow-up turn carries that turn's `prompt` (the user's message).
    """
    payload: dict[str, Any] = {"variation_id": variation_id, "status": str(status)}
    if turn is not None:
        payload["turn"] = turn
    if prompt is not None:
        payload["prompt"] = prompt
    if error is not None or status not in (VariationStatus.RUNNING, VariationStatus.QUEUED):
        payload["error"] = error
    return event_row(run_id, EventType.VARIATION_STATUS, payload, variation_id=variation_id)


def variation_result(
    run_id: str,
    variation_id: int,
    *,
    exit_code: int | None,
    diff_stats: dict[str, int],
    usage: dict[str, int],
    cost_usd: float,
    check: dict[str, Any] | None,
    turn: int | None = None,
) -> EventRow:
    """What a variation produced; its score comes at run end, in `run_status.scores`.

    After a follow-up turn: the whole conversation's diff, check, usage and cost.
    """
    payload: dict[str, Any] = {
        "variation_id": variation_id,
        "exit_code": exit_code,
        "diff_stats": diff_stats,
        "usage": usage,
        "cost_usd": round(cost_usd, 6),
        "check": check,
        "score": None,
    }
    if turn is not None:
        payload["turn"] = turn
    return event_row(run_id, EventType.VARIATION_RESULT, payload, variation_id=variation_id)


def gateway_refusal(run_id: str, variation_id: int, refusal: dict[str, Any]) -> EventRow:
    """A request the gateway answered itself (see docs/gateway.md for the fields)."""
    return event_row(run_id, EventType.GATEWAY_REFUSAL, refusal, variation_id=variation_id)


def setup_output(
    run_id: str, text: str, *, cached: bool | None = None, seconds: float | None = None
) -> EventRow:
    """One line of the run's setup command (`cached`, `seconds` on the lines that end it)."""
    payload: dict[str, Any] = {"text": text}
    if cached is not None:
        payload["cached"] = cached
    if seconds is not None:
        payload["seconds"] = seconds
    return event_row(run_id, EventType.SETUP_OUTPUT, payload)


def egress(run_id: str, variation_id: int | None, connection: dict[str, object]) -> EventRow:
    """One connection through the egress proxy (`variation_id` None: the setup phase)."""
    payload = {"variation_id": variation_id, **connection}
    return event_row(run_id, EventType.EGRESS, payload, variation_id=variation_id)


def run_status(run_id: str, status: RunStatus | str, *, base_sha: str | None = None) -> EventRow:
    """The run moved to `status` (`base_sha` once the repository is resolved)."""
    payload: dict[str, Any] = {"status": str(status)}
    if base_sha is not None:
        payload["base_sha"] = base_sha
    return event_row(run_id, EventType.RUN_STATUS, payload)


def run_finished(
    run_id: str, status: RunStatus | str, *, error: str | None, scores: list[dict[str, Any]]
) -> EventRow:
    """The run's final status, with every scored variation best first."""
    payload = {"status": str(status), "error": error, "scores": scores}
    return event_row(run_id, EventType.RUN_STATUS, payload)


def judge(run_id: str, record: dict[str, Any]) -> EventRow:
    """A judge call ended: `{model, status, error, cost_usd, calls, verdicts}`.

    `verdicts` maps each judged variation id (as a string) to its rank, verdict and rationale;
    a second event (after synthesis, `calls` 2) replaces the first's.
    """
    fields = ("model", "status", "error", "cost_usd", "calls", "verdicts")
    payload = {name: record.get(name) for name in fields}
    payload["verdicts"] = payload["verdicts"] or {}
    payload["calls"] = payload["calls"] or 1
    return event_row(run_id, EventType.JUDGE, payload)


def winner(run_id: str, variation_id: int, *, selected_by: str, reason: str | None) -> EventRow:
    """A winner was recorded (`selected_by`: `user` or `policy`)."""
    payload = {"variation_id": variation_id, "selected_by": selected_by, "reason": reason}
    return event_row(run_id, EventType.WINNER, payload)


def delivered(run_id: str, variation_id: int, delivery: dict[str, Any]) -> EventRow:
    """A variation was pushed: `{variation_id, branch, commit, pull_request_url}`."""
    payload = {"variation_id": variation_id, **delivery}
    return event_row(run_id, EventType.DELIVERED, payload, variation_id=variation_id)


def complete(run_id: str, status: RunStatus | str) -> EventRow:
    """The last event a stream sends before the server closes it."""
    return event_row(run_id, EventType.COMPLETE, {"status": str(status)})
