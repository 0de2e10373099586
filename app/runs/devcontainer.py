"""Setup defaults from a repository's `.devcontainer/devcontainer.json` (JSON with comments)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

DEVCONTAINER_PATH = ".devcontainer/devcontainer.json"
# Lifecycle commands that prepare a fresh checkout, in the order the spec runs them.
SETUP_KEYS = ("onCreateCommand", "postCreateCommand")
_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|[^"/]+|/', re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


@dataclass(frozen=True)
class DevcontainerSetup:
    """What a devcontainer.json contributes to a run."""

    command: str | None
    image: str | None


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas -> JSON (strings are left as they are)."""
    segments: list[str] = []  # alternating: code outside strings, then a string, ...
    code = ""
    for token in _TOKENS.findall(text):
        if token.startswith(("//", "/*")):
            continue
        if token.startswith('"'):
            segments += [_TRAILING_COMMA.sub(r"\1", code), token]
            code = ""
        else:
            code += token
    segments.append(_TRAILING_COMMA.sub(r"\1", code))
    return "".join(segments)


def _command_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return shlex.join(value)
    if isinstance(value, dict):  # named commands; the spec runs them in parallel
        parts = [_command_text(v) for v in value.values()]
        joined = " && ".join(f"( {p} )" for p in parts if p)
        return joined or None
    return None


def parse_devcontainer(text: str) -> DevcontainerSetup | None:
    """The setup command and image a devcontainer.json names; None when it is unreadable."""
    try:
        data = json.loads(strip_jsonc(text))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    commands = [c for c in (_command_text(data.get(key)) for key in SETUP_KEYS) if c]
    image = data.get("image")
    return DevcontainerSetup(
        command=" && ".join(commands) if commands else None,
        image=image if isinstance(image, str) and image.strip() else None,
    )
