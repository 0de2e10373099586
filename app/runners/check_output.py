"""Turns a check command's output stream into a CheckOutcome (shared by the backends)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncGenerator

from app.runners.base import AgentExit, CheckOutcome

OUTPUT_TAIL_LINES = 100

CHECK_SHELL = "exec 2>&1\n"  # stderr merged into the output tail


def check_argv(command: str) -> list[str]:
    """`/bin/sh -c` with stderr merged into stdout."""
    return ["/bin/sh", "-c", f"{CHECK_SHELL}{command}"]


async def collect_check(
    stream: AsyncGenerator[str | AgentExit, None], timeout: float
) -> CheckOutcome:
    """Read the check's lines to its exit (or its timeout), keeping the output tail."""
    lines: deque[str] = deque(maxlen=OUTPUT_TAIL_LINES)
    started = time.monotonic()
    code: int | None = None
    timed_out = False
    try:
        async with asyncio.timeout(timeout), contextlib.aclosing(stream):
            async for item in stream:
                if isinstance(item, AgentExit):
                    code = item.exit_code
                    if item.debug_log:
                        lines.extend(item.debug_log.splitlines())
                    if item.error:
                        lines.append(f"[{item.error}]")
                else:
                    lines.append(item.rstrip("\n"))
    except TimeoutError:
        timed_out = True
        lines.append(f"[check timed out after {timeout:g} s]")
    return CheckOutcome(
        exit_code=code,
        duration_seconds=time.monotonic() - started,
        output_tail="\n".join(lines),
        timed_out=timed_out,
    )
