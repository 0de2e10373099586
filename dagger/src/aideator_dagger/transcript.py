"""Reading the agent's stdout: the final `result` line, or a stand-in when there is none."""

from __future__ import annotations

import json
from typing import Any

NO_RESULT_ERROR = "the agent printed no result line"


def find_result(stdout: str) -> dict[str, Any] | None:
    """The `data` of the last protocol line of type `result`, if any."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("type") == "result":
            data = obj.get("data")
            return dict(data) if isinstance(data, dict) else {}
    return None


def final_result(stdout: str, container_exit_code: int) -> dict[str, Any]:
    """The variation's final result: the agent's own, or one that says why it is missing."""
    data = find_result(stdout)
    if data is None:
        return {
            "exit_code": container_exit_code,
            "error": NO_RESULT_ERROR,
            "diff": "",
            "diff_stats": {"files": 0, "insertions": 0, "deletions": 0},
            "usage": None,
            "cost_usd": None,
            "duration_seconds": None,
        }
    if not isinstance(data.get("exit_code"), int):
        data["exit_code"] = container_exit_code
    if not isinstance(data.get("diff"), str):
        data["diff"] = ""
    return data
