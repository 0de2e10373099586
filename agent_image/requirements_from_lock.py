"""Write requirements.txt: claude-agent-sdk and everything it needs, pinned from uv.lock.

The image must bundle exactly the Claude Code CLI the project is tested with (the agent finds
it at a private path inside that wheel), and two builds from the same source must install
the same packages. Run from the repository root after changing uv.lock:

    python3 agent_image/requirements_from_lock.py
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = "claude-agent-sdk"
HEADER = "# Generated from uv.lock by agent_image/requirements_from_lock.py; do not edit.\n"


def requirements(lock_text: str, top: str = TOP) -> str:
    """Pinned requirement lines for `top` and its dependency closure in the lock."""
    packages = {p["name"]: p for p in tomllib.loads(lock_text)["package"]}
    markers: dict[str, set[str]] = {top: {""}}
    pending = [top]
    extras: dict[str, set[str]] = {}
    while pending:
        name = pending.pop()
        package = packages[name]
        edges = list(package.get("dependencies", []))
        # A dependency asked for with extras (e.g. `pyjwt[crypto]`) brings their packages too.
        for extra in sorted(extras.get(name, ())):
            edges += package.get("optional-dependencies", {}).get(extra, [])
        for dep in edges:
            seen = markers.setdefault(dep["name"], set())
            wanted = extras.setdefault(dep["name"], set())
            before = (set(seen), set(wanted))
            seen.add(dep.get("marker", ""))
            wanted.update(dep.get("extra", []))
            if (seen, wanted) != before:
                pending.append(dep["name"])
    lines = []
    for name in sorted(markers):
        pin = f"{name}=={packages[name]['version']}"
        found = markers[name]
        if "" not in found:
            pin += " ; " + " or ".join(f"({m})" for m in sorted(found))
        lines.append(pin + "\n")
    return HEADER + "".join(lines)


def main() -> int:
    """Regenerate agent_image/requirements.txt from the repository's uv.lock."""
    text = requirements((ROOT / "uv.lock").read_text())
    (ROOT / "agent_image" / "requirements.txt").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
