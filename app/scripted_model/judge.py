"""The scripted judge: answers a judge request with a ranking tool call (not Claude).

`scripted/judge` ranks by a fixed rule: the variation ids its tool's input schema lists
(`ranking.items.enum`), highest id first; verdicts go `strong` for the first, `weak` for the
last and `acceptable` between. `scripted/judge-invalid-json` calls the tool with input that
is not JSON; `scripted/judge-no-tool` answers in text without calling the tool.
"""

from __future__ import annotations

from typing import Any

from app.scripted_model.conversation import Reply, plain_reply

JUDGE_MODELS = frozenset({"judge", "judge-invalid-json", "judge-no-tool"})
BROKEN_INPUT = '{"ranking": [0, 1'  # cut mid-list, as a broken answer would be


def _tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        return None
    return tools[0]


def listed_ids(tool: dict[str, Any]) -> list[int]:
    """The variation ids the tool's input schema allows in `ranking`."""
    schema = tool.get("input_schema") or {}
    items = ((schema.get("properties") or {}).get("ranking") or {}).get("items") or {}
    return [item for item in items.get("enum") or [] if isinstance(item, int)]


def _verdict(position: int, count: int) -> str:
    if position == 0:
        return "strong"
    return "weak" if position == count - 1 else "acceptable"


def judge_reply(name: str, body: dict[str, Any]) -> Reply:
    """The scripted judge's answer to one request."""
    tool = _tool(body)
    if name == "judge-no-tool" or tool is None:
        return plain_reply("Scripted judge (not Claude): I will not call the ranking tool.")
    if name == "judge-invalid-json":
        return _tool_call(tool, BROKEN_INPUT)
    ranking = sorted(listed_ids(tool), reverse=True)
    notes = [
        {
            "variation_id": vid,
            "verdict": _verdict(position, len(ranking)),
            "rationale": (
                f"Scripted judge (not Claude): ranked {position + 1} of {len(ranking)} by its "
                "fixed rule, highest variation id first."
            ),
        }
        for position, vid in enumerate(ranking)
    ]
    return _tool_call(tool, {"ranking": ranking, "variations": notes})


def _tool_call(tool: dict[str, Any], tool_input: Any) -> Reply:
    block = {
        "type": "tool_use",
        "id": "toolu_scripted_judge",
        "name": str(tool.get("name", "")),
        "input": tool_input,
    }
    return Reply(content=[block], stop_reason="tool_use")
