"""The SSE contract: docs/api.md and the web page list exactly the events the server builds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.egress.proxy import ConnectionRecord
from app.events import payloads
from app.events.log import EventRow
from app.events.payloads import EventType
from app.events.protocol import AgentLine
from app.gateway.rules import PolicyRefusal
from app.status import RunStatus, VariationStatus

ROOT = Path(__file__).resolve().parents[2]


def documented_events() -> dict[str, set[str]]:
    """docs/api.md's SSE table: event name -> the payload fields it lists (`?` = optional)."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## SSE stream", 1)[1].split("\n## ", 1)[0]
    events = {}
    for name, fields in re.findall(r"^\| `(\w+)` \| `\{([^}]*)\}`", section, re.MULTILINE):
        events[name] = {f.strip().split(":")[0].rstrip("?") for f in fields.split(",")}
    return events


def keys(row: EventRow) -> set[str]:
    payload = json.loads(row.payload)
    assert isinstance(payload, dict)
    return set(payload)


def built_events() -> dict[str, list[EventRow]]:
    """Every builder, with every optional field present at least once."""
    line = AgentLine("log", 3, "hello", {"k": 1}).to_payload(0)
    refusal = PolicyRefusal("model", 403, "permission_error", "no", "POST", "/v1/messages", "m")
    scores = [{"variation_id": 0, "score": 3.0, "score_parts": {}}]
    return {
        EventType.AGENT_OUTPUT: [payloads.agent_output("r", 0, line, turn=2)],
        EventType.VARIATION_STATUS: [
            payloads.variation_status("r", 0, VariationStatus.RUNNING),
            payloads.variation_status("r", 0, VariationStatus.RUNNING, turn=2, prompt="go on"),
            payloads.variation_status("r", 0, VariationStatus.FAILED, "agent exited 1", turn=2),
        ],
        EventType.VARIATION_RESULT: [
            payloads.variation_result(
                "r", 0, exit_code=0, diff_stats={}, usage={}, cost_usd=0.1, check=None, turn=2
            )
        ],
        EventType.GATEWAY_REFUSAL: [
            payloads.gateway_refusal("r", 0, refusal.payload(0, 20) | {"last_recorded": True})
        ],
        EventType.SETUP_OUTPUT: [
            payloads.setup_output("r", "setup: cached", cached=True),
            payloads.setup_output("r", "setup: done in 2 s", seconds=2.0),
        ],
        EventType.EGRESS: [
            payloads.egress("r", None, ConnectionRecord("h", 443, True).to_payload())
        ],
        EventType.RUN_STATUS: [
            payloads.run_status("r", RunStatus.RUNNING, base_sha="abc"),
            payloads.run_finished("r", RunStatus.SUCCEEDED, error=None, scores=scores),
        ],
        EventType.JUDGE: [
            payloads.judge(
                "r",
                {
                    "model": "m",
                    "status": "ok",
                    "error": None,
                    "cost_usd": 0.01,
                    "verdicts": {"0": {"rank": 1, "verdict": "strong", "rationale": "r"}},
                },
            )
        ],
        EventType.WINNER: [payloads.winner("r", 0, selected_by="user", reason=None)],
        EventType.DELIVERED: [
            payloads.delivered("r", 0, {"branch": "b", "commit": "c", "pull_request_url": None})
        ],
        EventType.COMPLETE: [payloads.complete("r", RunStatus.SUCCEEDED)],
    }


def test_docs_list_every_event_with_its_fields() -> None:
    documented = documented_events()
    built = built_events()
    assert set(documented) == {str(t) for t in EventType} == set(built)
    for name, rows in built.items():
        for row in rows:
            assert row.type == name
            assert keys(row) <= documented[name], (name, keys(row) - documented[name])
        seen = set().union(*(keys(row) for row in rows))
        assert seen == documented[name], (name, documented[name] - seen)


def test_web_page_listens_for_every_event() -> None:
    script = (ROOT / "app" / "static" / "js" / "run_stream.js").read_text()
    match = re.search(r"const EVENT_NAMES = \[([^\]]*)\]", script)
    assert match is not None
    names = re.findall(r'"(\w+)"', match.group(1))
    assert sorted(names) == sorted(str(t) for t in EventType)
    view = (ROOT / "app" / "static" / "js" / "run_view.js").read_text()
    assert all(f'case "{name}"' in view for name in names)
