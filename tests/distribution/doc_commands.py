"""The shell commands a Markdown file shows: fenced blocks tagged `sh`, `bash` or `shell`.

Every fenced block must say what it is (```sh for commands to run, ```text for synopses,
diagrams and output), so a new block is never silently left out.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

SHELL_TAGS = ("sh", "bash", "shell")
OTHER_TAGS = ("text", "python", "json", "yaml", "http", "jsonl")
_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class DocCommand:
    """One command as written, and where."""

    file: str  # relative to the repository root
    line: int  # 1-based line of its first line
    text: str  # as written: continuation lines and trailing comment kept

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def words(self) -> list[str]:
        """The command without its comment, as the shell splits it."""
        return shlex.split(self.text, comments=True)


class UntaggedBlock(ValueError):
    """A fenced block without a language tag (say ```sh or ```text)."""


def _complete(text: str) -> bool:
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def commands_in(path: Path, root: Path) -> list[DocCommand]:
    """The commands of a Markdown file's shell blocks, multi-line ones joined."""
    found: list[DocCommand] = []
    tag: str | None = None
    pending: list[str] = []
    start = 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fence = _FENCE.match(line)
        if fence and tag is None:
            tag = fence.group(1)
            if not tag:
                raise UntaggedBlock(f"{path.relative_to(root)}:{number}: tag the block")
            if tag not in SHELL_TAGS + OTHER_TAGS:
                raise UntaggedBlock(f"{path.relative_to(root)}:{number}: unknown tag {tag!r}")
            continue
        if fence and tag is not None:
            assert not pending, f"{path}:{start}: a command runs past the end of its block"
            tag = None
            continue
        if tag not in SHELL_TAGS:
            continue
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        pending.append(line)
        text = "\n".join(pending)
        if _complete(text):
            found.append(DocCommand(str(path.relative_to(root)), start, text))
            pending = []
    return found
