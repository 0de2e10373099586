"""One-line summaries of Claude Code tool calls, e.g. `Edit calc.py` or `Bash pytest -q`."""

from __future__ import annotations

import json
from typing import Any

MAX_SUMMARY_CHARS = 200

# Which input field best names what a tool acts on, per Claude Code tool name.
_SUBJECT_FIELDS = {
    "Read": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Write": "file_path",
    "NotebookEdit": "notebook_path",
    "Bash": "command",
    "Grep": "pattern",
    "Glob": "pattern",
    "WebFetch": "url",
    "WebSearch": "query",
    "Task": "description",
    "Agent": "description",
    "Skill": "skill",
}
_PATH_FIELDS = frozenset({"file_path", "notebook_path", "path"})


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    more = "…" if len(text.strip().splitlines()) > 1 else ""
    return first + more


def _shorten(text: str) -> str:
    if len(text) <= MAX_SUMMARY_CHARS:
        return text
    return text[: MAX_SUMMARY_CHARS - 1] + "…"


def relative_path(path: str, workdir: str | None) -> str:
    """Show `path` relative to the workdir when it lies inside it."""
    if workdir:
        root = workdir.rstrip("/") + "/"
        if path.startswith(root):
            return path[len(root) :] or "."
    return path


def summarize_tool_use(name: str, tool_input: dict[str, Any], workdir: str | None = None) -> str:
    """Return a one-line description of a tool call."""
    field = _SUBJECT_FIELDS.get(name)
    if field is None:
        field = next((key for key in _PATH_FIELDS if isinstance(tool_input.get(key), str)), None)
    subject = tool_input.get(field) if field else None
    if isinstance(subject, str) and subject.strip():
        if field in _PATH_FIELDS:
            subject = relative_path(subject, workdir)
        if name == "Grep" and isinstance(tool_input.get("path"), str):
            subject = f"{subject} in {relative_path(tool_input['path'], workdir)}"
        return _shorten(f"{name} {_one_line(subject)}")
    if name == "TodoWrite" and isinstance(tool_input.get("todos"), list):
        return f"TodoWrite {len(tool_input['todos'])} item(s)"
    if not tool_input:
        return name
    compact = json.dumps(tool_input, ensure_ascii=False, separators=(",", ":"), default=str)
    return _shorten(f"{name} {compact}")
